from datetime import timedelta

import pyotp
import pytest
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from attt.core.auth.views import PENDING_KEY
from attt.core.models import ApiToken, AuditEvent, LoginAttempt
from attt.core.testing import PASSWORD, make_user


def login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def test_login_logout_are_audited(tree, client):
    make_user(tree.province_a, "leader", username="lan")
    response = login(client, "lan", PASSWORD)
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
    actions = list(AuditEvent.objects.filter(actor_name="lan").values_list("action", flat=True))
    assert "login" in actions and "logout" in actions


def test_wrong_password_is_refused_with_a_message(tree, client):
    make_user(tree.province_a, "leader", username="lan")
    response = login(client, "lan", "wrong")
    assert response.status_code == 200
    with translation.override("vi"):
        assert escape(gettext("Wrong user name or password.")) in response.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", actor_name="lan").exists()


@override_settings(ATTT_LOGIN_MAX_FAILURES=3)
def test_lockout_after_repeated_failures_even_with_the_right_password(tree, client):
    make_user(tree.province_a, "leader", username="lan")
    for _ in range(3):
        login(client, "lan", "wrong")
    response = login(client, "lan", PASSWORD)
    assert response.status_code == 200  # still on the form
    assert "_auth_user_id" not in client.session
    # the try refused while locked is audited, not counted
    assert LoginAttempt.objects.filter(username="lan").count() == 3


@override_settings(ATTT_LOGIN_MAX_FAILURES=3)
def test_lockout_expires(tree, client):
    make_user(tree.province_a, "leader", username="lan")
    for _ in range(3):
        login(client, "lan", "wrong")
    LoginAttempt.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert login(client, "lan", PASSWORD).status_code == 302


@override_settings(ATTT_LOGIN_MAX_FAILURES=100, ATTT_LOGIN_MAX_FAILURES_PER_IP=4)
def test_lockout_per_address_across_user_names(tree, client):
    make_user(tree.province_a, "leader", username="lan")
    for i in range(4):
        login(client, f"guess{i}", "wrong", REMOTE_ADDR="10.9.9.9")
    assert "_auth_user_id" not in client.session
    login(client, "lan", PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert "_auth_user_id" not in client.session
    assert login(client, "lan", PASSWORD, REMOTE_ADDR="10.9.9.8").status_code == 302


def test_totp_second_step(tree, client):
    user = make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    response = login(client, "lan", PASSWORD)
    assert response.status_code == 302 and response.url == "/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.post("/login/verify/", {"code": "000000"}).status_code == 200
    assert "_auth_user_id" not in client.session
    code = pyotp.TOTP(user.totp_secret).now()
    response = client.post("/login/verify/", {"code": code})
    assert response.status_code == 302 and response.url == "/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_totp_code_cannot_be_replayed(tree, client):
    user = make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    code = pyotp.TOTP(user.totp_secret).now()
    login(client, "lan", PASSWORD)
    assert client.post("/login/verify/", {"code": code}).status_code == 302
    client.post("/logout/")
    login(client, "lan", PASSWORD)
    response = client.post("/login/verify/", {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_totp_step_expires(tree, client):
    user = make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    login(client, "lan", PASSWORD)
    session = client.session
    session[PENDING_KEY]["at"] -= 3600
    session.save()
    response = client.post("/login/verify/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 302 and response.url == "/login/"
    assert "_auth_user_id" not in client.session


def test_totp_setup_requires_a_valid_code(tree, client):
    user = make_user(tree.province_a, "leader", username="lan")
    client.force_login(user)
    client.get("/profile/2fa/")
    secret = client.session["attt_totp_setup"]
    assert client.post("/profile/2fa/", {"code": "123456", "password": PASSWORD}).status_code == 200
    user.refresh_from_db()
    assert not user.has_totp
    assert client.post("/profile/2fa/", {"code": pyotp.TOTP(secret).now(), "password": PASSWORD}).status_code == 302
    user.refresh_from_db()
    assert user.totp_secret == secret


def test_an_open_session_alone_cannot_enrol_an_authenticator_or_make_a_token(tree, client):
    """Whoever finds a session left open must not lock its owner out with an authenticator of their own, nor take
    away an API token that outlives the session and a password change: both ask for the current password."""
    user = make_user(tree.province_a, "leader", username="lan")
    client.force_login(user)
    client.get("/profile/2fa/")
    code = pyotp.TOTP(client.session["attt_totp_setup"]).now()
    for password in ("", "not-the-password"):
        response = client.post("/profile/2fa/", {"code": code, "password": password})
        assert response.status_code == 200 and "password" in response.context["form"].errors
        client.post("/profile/tokens/", {"name": "x", "days": 30, "password": password})
    user.refresh_from_db()
    assert not user.has_totp and not ApiToken.objects.filter(user=user).exists()
    assert LoginAttempt.objects.filter(username="lan").count() == 2  # each wrong one counts toward the lock-out
    client.post("/profile/tokens/", {"name": "x", "days": 30, "password": PASSWORD})
    assert ApiToken.objects.filter(user=user).count() == 1


def test_an_account_made_for_single_sign_on_has_no_password_to_ask(tree, client):
    user = make_user(tree.province_a, "leader", username="sso-lan")
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    client.get("/profile/2fa/")
    code = pyotp.TOTP(client.session["attt_totp_setup"]).now()
    assert client.post("/profile/2fa/", {"code": code}).status_code == 302
    client.post("/profile/tokens/", {"name": "x", "days": 30})
    assert ApiToken.objects.filter(user=user).count() == 1


def test_open_redirect_after_login_is_refused(tree, client):
    make_user(tree.province_a, "leader", username="lan")
    response = client.post("/login/?next=https://evil.example/", {"username": "lan", "password": PASSWORD})
    assert response.url == "/"


def test_password_change(tree, client):
    user = make_user(tree.province_a, "leader", username="lan")
    client.force_login(user)
    response = client.post(
        "/profile/password/",
        {"old_password": PASSWORD, "new_password1": "mật-khẩu-mới-2026!", "new_password2": "mật-khẩu-mới-2026!"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("mật-khẩu-mới-2026!")


def test_password_change_rejects_weak_password(tree, client):
    user = make_user(tree.province_a, "leader", username="lan")
    client.force_login(user)
    response = client.post(
        "/profile/password/", {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"}
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- API tokens -------------------------------------------------------------------------------------


@pytest.fixture
def token_user(tree):
    return make_user(tree.province_a, "leader", username="lan")


def test_bearer_token_authenticates(token_user, client, django_capture_on_commit_callbacks):
    token, key = ApiToken.issue(token_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {key}")
        # a row lock held through the request would come before the audit chain's its writes take
        assert ApiToken.objects.get(pk=token.pk).last_used_at is None
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "lan"
    assert ApiToken.objects.get(pk=token.pk).key_hash != key  # only the hash is stored


@pytest.mark.parametrize(
    ("header", "message_part"),
    [("Bearer attt_nonsense", "Invalid token"), ("Bearer", "Malformed"), ("Bearer a b", "Malformed")],
)
def test_bad_tokens_get_401_problem(token_user, client, header, message_part):
    response = client.get(
        "/api/v1/me/", HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE="en", HTTP_COOKIE="attt_language=en"
    )
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert message_part in response.json()["detail"]


def test_expired_token_is_refused(token_user, client):
    token, key = ApiToken.issue(token_user)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.cookies["attt_language"] = "en"
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_disabled_users_token_is_refused(token_user, client):
    _token, key = ApiToken.issue(token_user)
    token_user.is_active = False
    token_user.save()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_token_command(token_user, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("token", "lan", "--days", "7")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)
    with pytest.raises(CommandError, match="No user named"):
        call_command("token", "nobody")


def test_django_admin_log_in_is_not_served(tree, client):
    """Its log-in checked only the password: no second step, no lock-out, no audit entry."""
    assert client.get("/admin/login/").status_code == 404
    assert client.post("/admin/login/", {"username": "x", "password": "y"}).status_code in {403, 404}


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "198.51.100.9", "10.0.0.2"),  # no proxy trusted: the header is the client's own words
        (1, "198.51.100.9, 203.0.113.7", "203.0.113.7"),  # what the one proxy saw, not what the client wrote
        (2, "198.51.100.9, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        (2, "203.0.113.7", "203.0.113.7"),
    ],
)
def test_client_address_is_what_the_trusted_proxies_saw(rf, settings, proxies, forwarded, address):
    from attt.core.middleware import client_ip

    settings.ATTT_TRUST_X_FORWARDED_FOR = proxies
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == address


def test_a_forged_forwarded_address_does_not_escape_the_lock_out(tree, client, settings):
    settings.ATTT_TRUST_X_FORWARDED_FOR = 1
    settings.ATTT_LOGIN_MAX_FAILURES_PER_IP = 3
    make_user(tree.province_a, "leader", username="hoa")
    for n in range(3):
        login(client, f"nobody-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7")
    refused = login(client, "hoa", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7")
    assert refused.status_code == 200  # locked out by the address the proxy saw
