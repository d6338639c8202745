from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from attt.core.models import ApiToken


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer attt_…`; tokens expire and only their hash is stored."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header: use 'Bearer <token>'."))
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("The token contains invalid characters.")) from None
        token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash_key(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.is_expired:
            raise exceptions.AuthenticationFailed(_("The token has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The user of this token is disabled."))
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
            # After the request's transaction: a row lock held through a write request would come before the
            # audit chain's lock its writes take, against the one lock order (docs/architecture.md).
            transaction.on_commit(lambda: ApiToken.objects.filter(pk=token.pk).update(last_used_at=now), robust=True)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
