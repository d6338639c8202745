"""The core module's pages: home, organisations, users, role assignments, audit log, notifications."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST

from attt.core import dashboard, scoping
from attt.core.filtersets import (
    AuditEventFilterSet,
    OrganizationFilterSet,
    RoleAssignmentFilterSet,
    UserFilterSet,
)
from attt.core.forms import MergeForm, MoveForm, OrganizationForm, RoleAssignmentForm, UserForm
from attt.core.locks import apply_to_current
from attt.core.models import AuditEvent, Notification, Organization, RoleAssignment, User
from attt.core.services import notifications, organizations, roles
from attt.core.views.generic import (
    Column,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ScopedMixin,
)


@login_required
def home(request):
    return render(request, "core/home.html", {"widgets": dashboard.render_for(request)})


@dashboard.register
def _core_widget(request):
    scope = scoping.get_scope(request.user)
    if not scope.has_anywhere("core.organization.view"):
        return None
    orgs = scoping.visible(request.user, Organization.objects.filter(is_active=True))
    by_kind = {row["kind"]: row["n"] for row in orgs.values("kind").annotate(n=Count("pk"))}
    kinds = dict(Organization._meta.get_field("kind").choices)
    context = {
        "organization_count": sum(by_kind.values()),
        "by_kind": sorted(((kinds.get(k, k), n) for k, n in by_kind.items()), key=lambda kv: -kv[1]),
        "user_count": scoping.visible(request.user, User.objects.filter(is_active=True)).count()
        if scope.has_anywhere("core.user.view")
        else None,
        "recent_events": scoping.visible(request.user, AuditEvent.objects.all())[:8]
        if scope.has_anywhere("core.auditevent.view")
        else None,
    }
    return "core/widgets/organizations.html", context


# --- Organisations ---------------------------------------------------------------------------------


class OrganizationListView(ObjectListView):
    model = Organization
    queryset = Organization.objects.select_related("parent")
    filterset_class = OrganizationFilterSet
    template_name = "core/organization_list.html"
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Code"), "code"),
        Column(gettext_lazy("Kind"), "kind"),
        Column(gettext_lazy("Parent"), "parent__name"),
        Column(gettext_lazy("Active"), "is_active"),
    ]


class OrganizationDetailView(ObjectDetailView):
    model = Organization
    template_name = "core/organization_detail.html"
    fields = [
        "code",
        "name",
        "short_name",
        "name_en",
        "kind",
        "parent",
        "merged_into",
        "is_active",
        "email",
        "phone",
        "address",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        org = context["object"]
        user = self.request.user
        context.update(
            ancestors=scoping.visible(user, org.ancestors()),
            children=scoping.visible(user, org.children.all()).order_by("-is_active", "name"),
            history=org.events.all()[:50],
            can_move=scoping.can(user, "move", org),
            can_merge=scoping.can(user, "merge", org),
            can_add_child=org.is_active and scoping.can_in(user, "core.organization.add", org),
        )
        return context


class OrganizationEditView(ObjectEditView):
    model = Organization
    form_class = OrganizationForm

    def get_form(self):
        form = super().get_form()
        if "parent" in form.fields:
            form.fields["parent"].queryset = scoping.organizations_where(self.request.user, "core.organization.add")
            if self.request.GET.get("parent"):
                form.initial["parent"] = self.request.GET["parent"]
        return form

    def save(self, form):
        if form.instance._state.adding:
            return organizations.create_organization(by=self.request.user, **form.cleaned_data)
        apply_to_current(form)
        return organizations.save_changes(form.instance, by=self.request.user)


class OrganizationDeleteView(ObjectDeleteView):
    model = Organization


class _TreeChangeView(ScopedMixin, View):
    model = Organization
    form_class = None
    target_field = ""
    target_permission = ""
    title = ""

    def form(self, org):
        form = self.form_class(self.request.POST or None)
        form.fields[self.target_field].queryset = scoping.organizations_where(
            self.request.user, self.target_permission
        ).exclude(path__startswith=org.path)
        return form

    def get(self, request, pk):
        org = self.get_object()
        return render(request, "core/form.html", {"form": self.form(org), "title": self.title % {"name": org}})

    def post(self, request, pk):
        org = self.get_object()
        form = self.form(org)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    self.apply(org, data.pop(self.target_field), by=request.user, **data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(org.get_absolute_url())
        return render(request, "core/form.html", {"form": form, "title": self.title % {"name": org}})


class OrganizationMoveView(_TreeChangeView):
    action = "move"
    form_class = MoveForm
    target_field = "parent"
    target_permission = "core.organization.add"
    title = gettext_lazy("Move %(name)s")
    apply = staticmethod(organizations.move)


class OrganizationMergeView(_TreeChangeView):
    action = "merge"
    form_class = MergeForm
    target_field = "into"
    target_permission = "core.organization.change"
    title = gettext_lazy("Merge %(name)s into another organisation")
    apply = staticmethod(organizations.merge)


# --- Users and roles -------------------------------------------------------------------------------


class UserListView(ObjectListView):
    model = User
    queryset = User.objects.select_related("organization")
    filterset_class = UserFilterSet
    columns = [
        Column(gettext_lazy("User name"), "username", link=True),
        Column(gettext_lazy("Full name"), "get_full_name"),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Job title"), "job_title"),
        Column(gettext_lazy("Active"), "is_active"),
        Column(gettext_lazy("Last log-in"), "last_login"),
    ]


class UserDetailView(ObjectDetailView):
    model = User
    template_name = "core/user_detail.html"
    fields = [
        "username",
        "first_name",
        "last_name",
        "email",
        "organization",
        "job_title",
        "phone",
        "language",
        "is_active",
        "last_login",
        "date_joined",
    ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["assignments"] = scoping.visible(
            self.request.user,
            RoleAssignment.objects.filter(user=context["object"]).select_related("role", "organization"),
        )
        context["can_assign"] = scoping.get_scope(self.request.user).has_anywhere("core.roleassignment.add")
        return context


class ManagedUserMixin:
    """An account with a role beyond the people the person manages is not theirs to change or delete
    (`roles.check_manageable`)."""

    def get_object(self):
        user = super().get_object()
        roles.check_manageable(self.request.user, user, self.action)
        return user


class UserEditView(ManagedUserMixin, ObjectEditView):
    model = User
    form_class = UserForm

    def save(self, form):
        if not form.instance._state.adding:
            roles.check_manageable(self.request.user, form.instance, changed=form.changed_data)
        return super().save(form)


class UserDeleteView(ManagedUserMixin, ObjectDeleteView):
    model = User


class RoleAssignmentListView(ObjectListView):
    model = RoleAssignment
    queryset = RoleAssignment.objects.select_related("user", "role", "organization")
    filterset_class = RoleAssignmentFilterSet
    columns = [
        Column(gettext_lazy("User"), "user__username", link=True),
        Column(gettext_lazy("Role"), "role"),
        Column(gettext_lazy("Organisation"), "organization__name"),
        Column(gettext_lazy("Since"), "created_at"),
    ]


class RoleAssignmentEditView(ObjectEditView):
    model = RoleAssignment
    form_class = RoleAssignmentForm

    def get_form(self):
        form = RoleAssignmentForm(
            self.request.POST or None, granter=self.request.user, initial={"user": self.request.GET.get("user")}
        )
        form.fields["organization"].queryset = scoping.organizations_where(self.request.user, "core.roleassignment.add")
        form.fields["user"].queryset = scoping.visible(self.request.user, User.objects.filter(is_active=True))
        return form


class RoleAssignmentDeleteView(ObjectDeleteView):
    model = RoleAssignment


# --- Audit log -------------------------------------------------------------------------------------


class AuditEventListView(ObjectListView):
    model = AuditEvent
    filterset_class = AuditEventFilterSet
    template_name = "core/auditevent_list.html"
    columns = [
        Column("#", "seq", link=True),
        Column(gettext_lazy("Time"), "timestamp"),
        Column(gettext_lazy("Actor"), "actor_name"),
        Column(gettext_lazy("Action"), "action"),
        Column(gettext_lazy("Object type"), "object_type"),
        Column(gettext_lazy("Object"), "object_repr"),
        Column(gettext_lazy("Address"), "ip_address"),
    ]


class AuditEventDetailView(ObjectDetailView):
    model = AuditEvent
    template_name = "core/auditevent_detail.html"
    fields = [
        "seq",
        "timestamp",
        "actor_name",
        "ip_address",
        "request_id",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "organization",
        "prev_hash",
        "hash",
    ]

    def get_object(self):
        from django.shortcuts import get_object_or_404

        return get_object_or_404(self.scoped("view"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        changes = context["object"].changes or {}
        before, after = changes.get("before", {}), changes.get("after", {})
        context["diff"] = [(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))]
        context["extra"] = {k: v for k, v in changes.items() if k not in {"before", "after"}}
        return context


# --- Notifications ---------------------------------------------------------------------------------


@login_required
def notification_list(request):
    mine = Notification.objects.filter(recipient=request.user).order_by("-created_at", "-pk")
    page = Paginator(mine, 50).get_page(request.GET.get("page"))
    return render(request, "core/notification_list.html", {"page": page, "title": _("Notifications")})


@login_required
@require_POST
def notification_mark_read(request):
    ids = request.POST.getlist("id") or None
    try:
        notifications.mark_read(request.user, ids)
    except ValidationError:
        raise PermissionDenied from None
    return redirect("core:notification_list")


@login_required
def notification_badge(request):
    """HTMX partial polled by the bell in the top bar."""
    count = request.user.notifications.filter(read_at__isnull=True).count()
    return render(request, "core/partials/notification_badge.html", {"unread_notifications": count})
