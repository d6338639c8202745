from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers

from attt.core.api.base import (
    OrganizationField,
    ScopedRelatedField,
    StrictModelSerializer,
    StrictSerializerMixin,
)
from attt.core.models import AuditEvent, Notification, Organization, Role, RoleAssignment, User


class OrganizationSerializer(StrictModelSerializer):
    parent = OrganizationField(required=False, allow_null=True)
    merged_into = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = [
            "id",
            "code",
            "name",
            "short_name",
            "name_en",
            "kind",
            "parent",
            "depth",
            "is_active",
            "merged_into",
            "email",
            "phone",
            "address",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["depth", "is_active", "created_at", "updated_at"]

    def get_merged_into(self, obj) -> str | None:
        return str(obj.merged_into_id) if obj.merged_into_id else None

    def validate(self, attrs):
        if self.instance is not None and "parent" in attrs and attrs["parent"] != self.instance.parent:
            raise serializers.ValidationError({"parent": [_("Use the move action to change the parent.")]})
        return attrs


class TreeChangeSerializer(StrictSerializerMixin, serializers.Serializer):
    effective_date = serializers.DateField(required=False)
    legal_basis = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class MoveSerializer(TreeChangeSerializer):
    parent = OrganizationField()


class MergeSerializer(TreeChangeSerializer):
    into = OrganizationField()


class UserSerializer(StrictModelSerializer):
    organization = OrganizationField(required=False, allow_null=True)
    password = serializers.CharField(write_only=True, required=False, max_length=256, style={"input_type": "password"})
    has_totp = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "organization",
            "job_title",
            "phone",
            "language",
            "is_active",
            "has_totp",
            "last_login",
            "date_joined",
            "password",
        ]
        read_only_fields = ["last_login", "date_joined"]

    def validate(self, attrs):
        password = attrs.get("password")
        if self.instance is not None and "password" in attrs:  # as on the page: set once, then by the person
            raise serializers.ValidationError({"password": [_("A password is set only when the account is made.")]})
        if password:
            try:
                validate_password(password, User(username=attrs.get("username", "")))
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs

    def create(self, validated_data):
        password = validated_data.pop("password", None)
        user = User(**validated_data)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        return user


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["code", "name", "description", "permissions", "built_in"]


class RoleAssignmentSerializer(StrictModelSerializer):
    user = ScopedRelatedField(queryset=User.objects.all())
    role = serializers.SlugRelatedField(slug_field="code", queryset=Role.objects.all())
    organization = OrganizationField()

    class Meta:
        model = RoleAssignment
        fields = ["id", "user", "role", "organization", "created_at"]
        read_only_fields = ["created_at"]


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")
    organization = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "timestamp",
            "actor",
            "ip_address",
            "request_id",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "organization",
            "changes",
            "prev_hash",
            "hash",
        ]

    def get_organization(self, obj) -> str | None:
        return str(obj.organization_id) if obj.organization_id else None


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "level", "title", "body", "link", "created_at", "read_at"]


class MarkReadSerializer(StrictSerializerMixin, serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000)
