from rest_framework.routers import DefaultRouter

from attt.core.api import views

router = DefaultRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("users", views.UserViewSet, basename="user")
router.register("roles", views.RoleViewSet, basename="role")
router.register("role-assignments", views.RoleAssignmentViewSet, basename="roleassignment")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")
router.register("notifications", views.NotificationViewSet, basename="notification")
