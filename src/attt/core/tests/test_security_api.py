"""Attacks on API tokens, and the security headers and cookies every response carries."""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import path

from attt.core.models import ApiToken
from attt.core.testing import make_user


def _fails(request):
    raise RuntimeError("boom")


urlpatterns = [path("fails/", _fails)]


def _assert_hardened(response):
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("url", "status"),
    [("/login/", 200), ("/no-such-page/", 404), ("/api/v1/no-such/", 404), ("/api/v1/me/", 401), ("/", 302)],
)
def test_every_response_is_hardened(tree, client, url, status):
    """An error page or an API answer without the headers could be framed (click-jacking) or sniffed into a
    script by the browser."""
    response = client.get(url, HTTP_AUTHORIZATION="Bearer attt_nonsense" if url == "/api/v1/me/" else "")
    assert response.status_code == status
    _assert_hardened(response)


def test_a_server_error_is_hardened(settings):
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/fails/")
    assert response.status_code == 500
    _assert_hardened(response)


def test_a_csrf_refusal_is_hardened(tree):
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    _assert_hardened(response)


def test_a_revoked_token_is_refused(tree, client):
    """A token revoked after a leak must stop working at once."""
    user = make_user(tree.province_a, "leader", username="lan")
    token, key = ApiToken.issue(user)
    client.force_login(user)
    client.post(f"/profile/tokens/{token.pk}/revoke/")
    client.logout()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_nobody_revokes_another_persons_token(tree, client):
    """Revoking by id must not reach someone else's token (a denial of service on their scripts)."""
    owner = make_user(tree.province_a, "leader", username="lan")
    token, _key = ApiToken.issue(owner)
    client.force_login(make_user(tree.province_a, "leader", username="hoa"))
    client.post(f"/profile/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_token_cannot_be_revoked_by_a_link(tree, client):
    """A GET would let any page revoke a person's tokens through an <img> (a cross-site request)."""
    user = make_user(tree.province_a, "leader", username="lan")
    token, _key = ApiToken.issue(user)
    client.force_login(user)
    assert client.get(f"/profile/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_token_is_only_accepted_whole(tree, client):
    """A prefix of a token (the part the profile page shows) or the stored hash must not authenticate."""
    user = make_user(tree.province_a, "leader", username="lan")
    token, key = ApiToken.issue(user)
    for guess in (token.prefix, key[:-1], token.key_hash, key + "x"):
        assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {guess}").status_code == 401


def test_the_api_with_a_session_still_needs_the_csrf_token(tree):
    """A logged-in person's browser must not be made to write through the API by another site."""
    user = make_user(tree.province_a, "leader", username="lan")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post("/api/v1/organizations/", data="{}", content_type="application/json")
    assert response.status_code == 403


def test_production_cookies_are_secure_and_http_only():
    """Without Secure a session cookie leaks over any plain-HTTP request; without HttpOnly a script reads it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ATTT_")}
    env |= {"DJANGO_SETTINGS_MODULE": "attt.settings.production", "ATTT_SECRET_KEY": "k" * 60}
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({n: "
        "getattr(s, n) for n in ('SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', "
        "'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY', 'LANGUAGE_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_SSL_REDIRECT', 'DEBUG')}))"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "LANGUAGE_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_SSL_REDIRECT": True,
        "DEBUG": False,
    }
