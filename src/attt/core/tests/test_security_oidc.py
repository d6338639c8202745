"""Attacks through single sign-on: an identity provider's answer must not open an account it does not own."""

import time

import jwt
import pytest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from attt.core.auth.oidc import OrganisationOIDCBackend
from attt.core.models import User
from attt.core.testing import make_user

SECRET = "client-secret-for-tests-0123456789abcdef"


@pytest.fixture
def sso(settings, rf, monkeypatch):
    """Runs one callback of the code flow against a stand-in provider: `sso(claims, id_token={...})`."""
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.invalid/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://idp.invalid/userinfo"
    settings.OIDC_RP_CLIENT_ID = "attt"
    settings.OIDC_OP_ISSUER = "https://idp.invalid"
    settings.OIDC_RP_CLIENT_SECRET = SECRET
    settings.OIDC_RP_SIGN_ALGO = "HS256"
    settings.OIDC_AUTHENTICATION_CALLBACK_URL = "login"

    def run(userinfo, **id_token):
        id_token = {
            "iss": "https://idp.invalid",
            "aud": "attt",
            "sub": userinfo["sub"],
            "nonce": "n",
            "exp": int(time.time()) + 300,
            **id_token,
        }
        signed = jwt.encode({k: v for k, v in id_token.items() if v is not None}, SECRET, algorithm="HS256")
        monkeypatch.setattr(OIDCAuthenticationBackend, "get_token", lambda self, payload: {"id_token": signed})
        monkeypatch.setattr(OIDCAuthenticationBackend, "get_userinfo", lambda self, *args: userinfo)
        request = rf.get("/oidc/callback/", {"code": "c", "state": "s"})
        request.session = {}
        return OrganisationOIDCBackend().authenticate(request, nonce="n")

    return run


def test_a_provider_account_does_not_take_over_a_local_account_by_email(tree, sso):
    """Any account at the provider that carries a local user's e-mail address logged in as that user, roles
    and all: whoever can set an address at the provider (or is its administrator) owned the platform account."""
    local = make_user(tree.province_a, "leader", username="lan")
    user = sso({"sub": "idp-1", "email": "LAN@example.invalid", "preferred_username": "someone"})
    assert user is not None and user.pk != local.pk
    assert not user.role_assignments.exists()


def test_an_account_made_for_single_sign_on_is_linked(tree, sso):
    """An administrator who creates an account without a password (for SSO) sees the person land in it."""
    prepared = make_user(tree.province_a, "leader", username="hoa")
    prepared.set_unusable_password()
    prepared.save()
    assert sso({"sub": "idp-2", "email": "hoa@example.invalid", "preferred_username": "hoa"}) == prepared


def test_a_provider_user_name_taken_locally_is_refused_not_a_server_error(tree, sso):
    """The provider's user name of a local account made a duplicate key (a 500 at every try) and is refused."""
    make_user(tree.province_a, "leader", username="lan")
    assert sso({"sub": "idp-3", "email": "other@so.gov.vn", "preferred_username": "lan"}) is None
    assert User.objects.filter(username="lan").count() == 1


def test_an_unverified_address_is_refused(tree, sso):
    """A provider that says it never checked the address gives no reason to trust it for linking."""
    prepared = make_user(tree.province_a, "leader", username="hoa")
    prepared.set_unusable_password()
    prepared.save()
    claims = {"sub": "idp-4", "email": "hoa@example.invalid", "email_verified": False, "preferred_username": "x"}
    assert sso(claims) is None


def test_an_id_token_for_another_client_is_refused(tree, sso):
    """The library leaves the audience unchecked: an ID token the provider issued to another application (which
    that application could replay) was taken as a log-in here."""
    assert sso({"sub": "idp-5", "email": "x@so.gov.vn"}, aud="another-app") is None
    assert sso({"sub": "idp-5", "email": "x@so.gov.vn"}, aud=["another-app", "attt"]) is not None


def test_user_information_about_another_subject_is_refused(tree, sso):
    """The user-information answer must be about the person the ID token names (OIDC Core 5.3.2); otherwise a
    mixed-up or substituted access token logs in as whoever it belongs to."""
    assert sso({"sub": "idp-6", "email": "x@so.gov.vn"}, sub="idp-7") is None


def test_an_id_token_from_another_provider_is_refused(tree, sso):
    """The library leaves the issuer unchecked: a token signed with the same key material by another provider
    (or another realm of the same server) opened a session here."""
    assert sso({"sub": "idp-8", "email": "x@so.gov.vn"}, iss="https://idp.invalid/other-realm") is None
    assert sso({"sub": "idp-8", "email": "x@so.gov.vn"}, iss=None) is None
    assert sso({"sub": "idp-8", "email": "x@so.gov.vn"}) is not None


def test_an_expired_id_token_is_refused_without_a_server_error(tree, sso):
    """The library lets the JWT library's expiry error through (a 500 at the callback), and takes a token that
    never expires: both are a failed log-in."""
    now = int(time.time())
    assert sso({"sub": "idp-9", "email": "x@so.gov.vn"}, exp=now - 30 * 24 * 3600) is None
    assert sso({"sub": "idp-9", "email": "x@so.gov.vn"}, exp=None) is None
    assert sso({"sub": "idp-9", "email": "x@so.gov.vn"}, exp=now + 60) is not None
