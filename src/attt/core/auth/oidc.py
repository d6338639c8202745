"""OIDC single sign-on (enabled by ATTT_OIDC_ENABLED). New users start with no role: an
organisation administrator grants roles, as for any account.

The provider's answer opens only an account made for single sign-on: one without a password of its own
(created here at a first SSO log-in, or by an administrator who left the password empty). A local account is
never taken over by a provider account that carries its e-mail address or its user name."""

import logging

import jwt
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

logger = logging.getLogger(__name__)


class OrganisationOIDCBackend(OIDCAuthenticationBackend):
    def verify_token(self, token, **kwargs):
        """An expired ID token is a failed log-in, not a server error (the library lets the JWT library's
        `ExpiredSignatureError` through)."""
        try:
            return super().verify_token(token, **kwargs)
        except jwt.ExpiredSignatureError:
            logger.warning("refused an expired ID token")
            return None

    def get_or_create_user(self, access_token, id_token, payload):
        """The library checks the ID token's signature, its nonce, and its expiry when it has one. OIDC Core
        3.1.3.7 also requires that our provider issued it (`iss`), to us (`aud`), and that it expires (`exp`): a
        token another provider or another client obtained, or one valid for ever, must not open a session here.
        Refused here, the log-in fails with a warning in the log, as the library's other refusals do."""
        if payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("The ID token was issued by another provider.")
        audience = payload.get("aud")
        if self.OIDC_RP_CLIENT_ID not in ([audience] if isinstance(audience, str) else audience or ()):
            raise SuspiciousOperation("The ID token was issued to another client.")
        if "exp" not in payload:
            raise SuspiciousOperation("The ID token does not say when it expires.")
        return super().get_or_create_user(access_token, id_token, payload)

    def get_userinfo(self, access_token, id_token, payload):
        """The user information must be about the person the ID token names (OIDC Core 5.3.2)."""
        claims = super().get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The user information is about another subject than the ID token.")
        return claims

    def verify_claims(self, claims):
        return super().verify_claims(claims) and claims.get("email_verified") is not False

    def filter_users_by_claims(self, claims):
        return super().filter_users_by_claims(claims).filter(password__startswith=UNUSABLE_PASSWORD_PREFIX)

    def create_user(self, claims):
        email = claims.get("email", "")
        username = (claims.get("preferred_username") or email)[:150]
        if self.UserModel.objects.filter(username=username).exists():
            raise SuspiciousOperation("The provider's user name belongs to another account.")
        return self.UserModel.objects.create_user(
            username=username,
            email=email,
            first_name=claims.get("given_name", "")[:150],
            last_name=claims.get("family_name", "")[:150],
        )

    def update_user(self, user, claims):
        user.first_name = claims.get("given_name", user.first_name)[:150]
        user.last_name = claims.get("family_name", user.last_name)[:150]
        user.save(update_fields=["first_name", "last_name"])
        return user
