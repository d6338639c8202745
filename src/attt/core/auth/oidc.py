"""OIDC single sign-on (enabled by ATTT_OIDC_ENABLED). New users start with no role: an
organisation administrator grants roles, as for any account."""

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class OrganisationOIDCBackend(OIDCAuthenticationBackend):
    def create_user(self, claims):
        email = claims.get("email", "")
        username = claims.get("preferred_username") or email
        return self.UserModel.objects.create_user(
            username=username[:150],
            email=email,
            first_name=claims.get("given_name", "")[:150],
            last_name=claims.get("family_name", "")[:150],
        )

    def update_user(self, user, claims):
        user.first_name = claims.get("given_name", user.first_name)[:150]
        user.last_name = claims.get("family_name", user.last_name)[:150]
        user.save(update_fields=["first_name", "last_name"])
        return user
