"""OIDC single sign-on (enabled by ATTT_OIDC_ENABLED). New users start with no role: an
organisation administrator grants roles, as for any account.

The provider's answer opens only an account made for single sign-on: one without a password of its own
(created here at a first SSO log-in, or by an administrator who left the password empty). A local account is
never taken over by a provider account that carries its e-mail address or its user name."""

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class OrganisationOIDCBackend(OIDCAuthenticationBackend):
    def get_userinfo(self, access_token, id_token, payload):
        """The library checks the ID token's signature and nonce, not that it was issued to us (its audience), nor
        that the user information is about the person it names (OIDC Core 3.1.3.7 and 5.3.2)."""
        audience = payload.get("aud")
        if self.OIDC_RP_CLIENT_ID not in ([audience] if isinstance(audience, str) else audience or ()):
            raise SuspiciousOperation("The ID token was issued to another client.")
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
