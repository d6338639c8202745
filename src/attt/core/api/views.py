from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from attt.core import scoping
from attt.core.api import serializers as s
from attt.core.api.base import ScopedModelViewSet, scope_action
from attt.core.filtersets import (
    AuditEventFilterSet,
    OrganizationFilterSet,
    RoleAssignmentFilterSet,
    UserFilterSet,
)
from attt.core.models import AuditEvent, Notification, Organization, Role, RoleAssignment, User
from attt.core.services import notifications, organizations, roles


class OrganizationViewSet(ScopedModelViewSet):
    queryset = Organization.objects.select_related("parent")
    serializer_class = s.OrganizationSerializer
    filterset_class = OrganizationFilterSet
    ordering_fields = ["name", "path", "created_at"]

    def perform_create(self, serializer):
        parent = serializer.validated_data.get("parent")
        if parent is None and not self.request.user.is_superuser:
            raise PermissionDenied(_("Only a superuser can create a top-level organisation."))
        if parent is not None and not scoping.can_in(self.request.user, "core.organization.add", parent):
            raise PermissionDenied(_("You may not create organisations under this one."))
        data = {**serializer.validated_data, "parent": parent}  # a top-level one sends none (it was a 500)
        serializer.instance = organizations.create_organization(by=self.request.user, **data)

    def _tree_change(self, request, serializer_cls, target_key: str, target_permission: str, apply):
        org = self.get_object()
        body = serializer_cls(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        target = body.validated_data[target_key]
        if not scoping.can_in(request.user, target_permission, target):
            raise PermissionDenied(_("You may not change the organisation you named."))
        with transaction.atomic():
            result = apply(
                org,
                target,
                effective_date=body.validated_data.get("effective_date"),
                legal_basis=body.validated_data["legal_basis"],
                by=request.user,
            )
        return org, result

    @extend_schema(request=s.MoveSerializer, responses=s.OrganizationSerializer)
    @action(detail=True, methods=["post"])
    @scope_action("move")
    def move(self, request, pk=None):
        org, _ = self._tree_change(request, s.MoveSerializer, "parent", "core.organization.add", organizations.move)
        org.refresh_from_db()
        return Response(self.get_serializer(org).data)

    @extend_schema(request=s.MergeSerializer, responses=dict)
    @action(detail=True, methods=["post"])
    @scope_action("merge")
    def merge(self, request, pk=None):
        _, counts = self._tree_change(
            request, s.MergeSerializer, "into", "core.organization.change", organizations.merge
        )
        return Response({"merged": True, "counts": counts})


class UserViewSet(ScopedModelViewSet):
    queryset = User.objects.select_related("organization")
    serializer_class = s.UserSerializer
    filterset_class = UserFilterSet
    ordering_fields = ["username", "last_login", "date_joined"]

    def get_object(self):
        user = super().get_object()
        if self.action in ("update", "partial_update", "destroy"):
            roles.check_manageable(self.request.user, user, "delete" if self.action == "destroy" else "change")
        return user

    def perform_update(self, serializer):
        user, data = serializer.instance, serializer.validated_data
        changed = [name for name, value in data.items() if getattr(user, name, None) != value]
        roles.check_manageable(self.request.user, user, changed=changed)
        super().perform_update(serializer)


class RoleViewSet(viewsets.ReadOnlyModelViewSet):
    """Roles are data shared by all organisations: readable by anyone logged in."""

    queryset = Role.objects.all()
    serializer_class = s.RoleSerializer
    permission_classes = [IsAuthenticated]
    ordering_fields = ["name", "code"]
    lookup_field = "code"
    pagination_class = None


class RoleAssignmentViewSet(ScopedModelViewSet):
    queryset = RoleAssignment.objects.select_related("user", "role", "organization")
    serializer_class = s.RoleAssignmentSerializer
    filterset_class = RoleAssignmentFilterSet
    http_method_names = ["get", "post", "delete", "head", "options"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        self._check_target(data["organization"])
        try:
            roles.check_grantable(self.request.user, data["role"], data["organization"])
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        serializer.save()


class AuditEventViewSet(ScopedModelViewSet):
    """The audit log, read-only; an event is visible with the organisation it concerns."""

    queryset = AuditEvent.objects.all()
    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilterSet
    http_method_names = ["get", "head", "options"]
    lookup_value_regex = "[0-9]+"
    ordering_fields = ["seq", "timestamp"]


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The requester's own notifications."""

    serializer_class = s.NotificationSerializer
    permission_classes = [IsAuthenticated]
    ordering_fields: list[str] = []  # newest first, as the model orders them
    queryset = Notification.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user)

    @extend_schema(request=s.MarkReadSerializer, responses=dict)
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        body = s.MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data.get("ids")
        return Response({"marked": notifications.mark_read(request.user, ids)})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=dict)
    def get(self, request):
        assignments = RoleAssignment.objects.filter(user=request.user).select_related("role", "organization")
        return Response(
            {
                "user": s.UserSerializer(request.user, context={"request": request}).data,
                "roles": [
                    {
                        "role": a.role.code,
                        "organization": str(a.organization_id),
                        "organization_name": a.organization.name,
                    }
                    for a in assignments
                ],
            }
        )
