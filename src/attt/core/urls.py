from django.urls import path

from attt.core.views import pages as v

app_name = "core"


def crud(prefix: str, name: str, list_view, detail_view, edit_view, delete_view) -> list:
    """The four pages every object type has, under the same names in every module."""
    return [
        path(f"{prefix}/", list_view.as_view(), name=f"{name}_list"),
        path(f"{prefix}/add/", edit_view.as_view(), name=f"{name}_add"),
        path(f"{prefix}/<uuid:pk>/", detail_view.as_view(), name=f"{name}_detail"),
        path(f"{prefix}/<uuid:pk>/edit/", edit_view.as_view(), name=f"{name}_edit"),
        path(f"{prefix}/<uuid:pk>/delete/", delete_view.as_view(), name=f"{name}_delete"),
    ]


urlpatterns = [
    *crud(
        "organizations",
        "organization",
        v.OrganizationListView,
        v.OrganizationDetailView,
        v.OrganizationEditView,
        v.OrganizationDeleteView,
    ),
    path("organizations/<uuid:pk>/move/", v.OrganizationMoveView.as_view(), name="organization_move"),
    path("organizations/<uuid:pk>/merge/", v.OrganizationMergeView.as_view(), name="organization_merge"),
    *crud("users", "user", v.UserListView, v.UserDetailView, v.UserEditView, v.UserDeleteView),
    path("role-assignments/", v.RoleAssignmentListView.as_view(), name="roleassignment_list"),
    path("role-assignments/add/", v.RoleAssignmentEditView.as_view(), name="roleassignment_add"),
    path("role-assignments/<uuid:pk>/delete/", v.RoleAssignmentDeleteView.as_view(), name="roleassignment_delete"),
    path("audit/", v.AuditEventListView.as_view(), name="auditevent_list"),
    path("audit/<int:pk>/", v.AuditEventDetailView.as_view(), name="auditevent_detail"),
    path("notifications/", v.notification_list, name="notification_list"),
    path("notifications/read/", v.notification_mark_read, name="notification_mark_read"),
    path("notifications/badge/", v.notification_badge, name="notification_badge"),
]
