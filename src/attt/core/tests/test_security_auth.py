"""Attacks on the log-in, the second step, the lock-out and the pages that ask for the password again."""

from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from attt.core.models import LoginAttempt, User
from attt.core.testing import PASSWORD, make_user


def login(client, username, password, path="/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "https:evil.example",
        "http:/\\evil.example",
        "/\t/evil.example",
        " //evil.example",
        "https://evil.example@testserver/",
        "javascript:alert(1)",
    ],
)
def test_next_never_leads_off_site(tree, client, target):
    """An attacker's link `/login/?next=//evil…` would have sent a person, just logged in, to a look-alike
    site asking for the password again."""
    make_user(tree.province_a, "leader", username="lan")
    response = client.post("/login/", {"username": "lan", "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response.url == "/"
    # already logged in: the log-in page sends on at once
    assert client.get("/login/", {"next": target}).url == "/"


def test_next_is_refused_through_the_second_step_too(tree, client):
    """The second step carries `next` across: an unchecked value there would be the same open redirect."""
    user = make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    client.post("/login/?next=%2F%2Fevil.example%2F", {"username": "lan", "password": PASSWORD})
    response = client.post("/login/verify/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 302 and response.url == "/"


def test_a_local_next_is_kept(tree, client):
    make_user(tree.province_a, "leader", username="lan")
    response = client.post("/login/?next=/core/notifications/", {"username": "lan", "password": PASSWORD})
    assert response.url == "/core/notifications/"


def test_log_out_is_not_possible_by_get(tree, client):
    """A log-out by GET lets any page (an <img src="/logout/">) log a person out: the log-out stays a POST."""
    client.force_login(make_user(tree.province_a, "leader", username="lan"))
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session


def test_the_session_key_changes_at_the_password_step(tree, client):
    """An attacker who planted a session cookie in the person's browser (a sibling subdomain can) would share
    the half-logged-in session and could answer its second step, or watch it, with the key they chose."""
    make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    session = client.session
    session["planted"] = True
    session.save()
    planted = session.session_key
    login(client, "lan", PASSWORD)
    assert client.session.session_key != planted


def test_the_session_key_changes_at_log_in(tree, client):
    """The same planted key must not become a logged-in session."""
    user = make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    login(client, "lan", PASSWORD)
    half = client.session.session_key
    client.post("/login/verify/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert client.session.session_key != half
    assert "_auth_user_id" in client.session


def test_a_code_used_by_a_concurrent_request_is_refused(tree, client, monkeypatch):
    """Two log-ins racing with one observed code both passed (each read the last used step before the other
    wrote it): an attacker watching the code being typed could have logged in alongside the person."""
    from attt.core import audit
    from attt.core.auth import lockout, totp

    user = make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    code = pyotp.TOTP(user.totp_secret).now()
    login(client, "lan", PASSWORD)
    locked = lockout.is_locked

    def other_request_logs_in_first(username, ip, device):
        step = totp.matching_step(user.totp_secret, code)
        audit.lock_chain()
        User.objects.filter(pk=user.pk).update(totp_last_step=step)
        return locked(username, ip, device)

    monkeypatch.setattr(lockout, "is_locked", other_request_logs_in_first)
    response = client.post("/login/verify/", {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_refused_attempts_during_a_lock_out_do_not_prolong_it(tree, client, settings):
    """Every refused try while locked counted as a new failure: the person's own retries (or one request now
    and then from an attacker) kept the account locked past the documented window."""
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    make_user(tree.province_a, "leader", username="lan")
    for _ in range(3):
        login(client, "lan", "wrong")
    failures = list(LoginAttempt.objects.values_list("pk", flat=True))
    for _ in range(3):
        login(client, "lan", PASSWORD)  # refused: locked
    assert "_auth_user_id" not in client.session
    LoginAttempt.objects.filter(pk__in=failures).update(created_at=timezone.now() - timedelta(hours=1))
    assert login(client, "lan", PASSWORD).status_code == 302


def test_an_ipv6_attacker_cannot_escape_the_address_limit_by_rotating_addresses(tree, client, settings):
    """One IPv6 subscriber holds a whole /64 (2^64 addresses): counting each address alone let an attacker
    spray passwords over many accounts with a fresh address for every few tries."""
    settings.ATTT_LOGIN_MAX_FAILURES_PER_IP = 3
    make_user(tree.province_a, "leader", username="lan")
    for n in range(3):
        login(client, f"guess{n}", "wrong", REMOTE_ADDR=f"2001:db8:1:2::{n + 1}")
    login(client, "lan", PASSWORD, REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert "_auth_user_id" not in client.session
    assert login(client, "lan", PASSWORD, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


@pytest.mark.parametrize(
    ("address", "source"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # the same client through a dual-stack socket
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::"),
        (None, None),
        ("unix-socket", None),
    ],
)
def test_the_address_limit_counts_by_source(address, source):
    from attt.core.auth.lockout import address_source

    assert address_source(address) == source


@pytest.mark.parametrize("forwarded", ["not-an-address", "' OR 1=1 --", "::ffff:zz", "203.0.113.7:port", "[x]:80"])
def test_a_garbage_forwarded_entry_is_not_taken_as_the_address(rf, settings, forwarded):
    """With one proxy too many trusted (or a proxy that adds a port), the entry taken is whatever the client
    wrote: not an address, it failed PostgreSQL's inet column (every failed log-in a 500, nothing counted)
    and each new string was a fresh, unlimited 'address'."""
    from attt.core.middleware import client_ip

    settings.ATTT_TRUST_X_FORWARDED_FOR = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2")
    assert client_ip(request) == "10.0.0.2"


@pytest.mark.parametrize(
    ("forwarded", "address"),
    [("203.0.113.7:51234", "203.0.113.7"), ("[2001:db8::1]:443", "2001:db8::1"), ("2001:DB8::1", "2001:db8::1")],
)
def test_a_forwarded_address_with_a_port_is_read(rf, settings, forwarded, address):
    """Some proxies append the client's port: the address is still the one that counts."""
    from attt.core.middleware import client_ip

    settings.ATTT_TRUST_X_FORWARDED_FOR = 1
    assert client_ip(rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.2")) == address


def test_turning_off_the_second_step_counts_wrong_passwords(tree, client, settings):
    """With a session left open (an unlocked office computer), the password could be guessed without limit on
    the 'turn off two-step verification' page, then the second step turned off for good."""
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    user = make_user(tree.province_a, "leader", username="lan", totp_secret=pyotp.random_base32())
    client.force_login(user)
    for n in range(3):
        assert client.post("/profile/2fa/off/", {"password": f"guess-{n}"}).status_code == 200
    assert client.post("/profile/2fa/off/", {"password": PASSWORD}).status_code == 200
    user.refresh_from_db()
    assert user.has_totp


def test_changing_the_password_counts_wrong_current_passwords(tree, client, settings):
    """The same open session could guess the current password without limit on the change-password page."""
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    user = make_user(tree.province_a, "leader", username="lan")
    client.force_login(user)
    new = {"new_password1": "mật-khẩu-mới-2026!", "new_password2": "mật-khẩu-mới-2026!"}
    for n in range(3):
        assert client.post("/profile/password/", {"old_password": f"guess-{n}", **new}).status_code == 200
    assert client.post("/profile/password/", {"old_password": PASSWORD, **new}).status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_deactivated_person_is_logged_out_everywhere(tree, client):
    """A person whose account was switched off must lose the sessions they still hold."""
    user = make_user(tree.province_a, "leader", username="lan")
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/").status_code == 302


def test_a_password_change_ends_the_other_sessions(tree):
    """A thief's stolen session must end when the person changes the password."""
    user = make_user(tree.province_a, "leader", username="lan")
    thief, owner = Client(), Client()
    thief.force_login(user)
    owner.force_login(user)
    owner.post(
        "/profile/password/",
        {"old_password": PASSWORD, "new_password1": "mật-khẩu-mới-2026!", "new_password2": "mật-khẩu-mới-2026!"},
    )
    assert owner.get("/").status_code == 200
    assert thief.get("/").status_code == 302


# --- Device cookies: an attacker's wrong passwords do not lock the person out ------------------------------------


def _known_browser(tree, username="lan", **user) -> Client:
    """A browser the person logged in from once (it keeps their device cookie), logged out again."""
    make_user(tree.province_a, "leader", username=username, **user)
    browser = Client()
    assert login(browser, username, PASSWORD).status_code == 302
    browser.post("/logout/")
    return browser


def test_a_person_logs_in_from_their_own_browser_while_an_attacker_has_locked_the_name(tree, client, settings):
    """Five wrong passwords from anywhere locked the name for everyone: an attacker could keep a national
    administrator out through an incident by sending a few tries every quarter of an hour."""
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    browser = _known_browser(tree)
    for _ in range(3):
        login(client, "lan", "wrong")
    assert login(client, "lan", PASSWORD).status_code == 200  # the attacker's side is locked, right password or not
    assert login(browser, "lan", PASSWORD).status_code == 302
    assert login(client, "lan", PASSWORD).status_code == 200  # and the person's log-in did not unlock it


def test_a_known_browser_has_a_lock_out_of_its_own(tree, settings):
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    browser = _known_browser(tree)
    for _ in range(3):
        login(browser, "lan", "wrong")
    assert login(browser, "lan", PASSWORD).status_code == 200
    assert login(Client(), "lan", PASSWORD).status_code == 302  # the unknown clients' count is untouched


def test_a_device_cookie_counts_only_for_its_own_person_and_only_when_signed(tree, client, settings):
    """Another person's cookie, or one written by hand, leaves a browser among the unknown clients."""
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    browser = _known_browser(tree)
    make_user(tree.province_a, "leader", username="hoa")
    for _ in range(3):
        login(client, "hoa", "wrong")
    assert login(browser, "hoa", PASSWORD).status_code == 200  # lan's device cookie, hoa's name: unknown
    forged = Client()
    cookie = browser.cookies[settings.ATTT_DEVICE_COOKIE_NAME].value
    forged.cookies[settings.ATTT_DEVICE_COOKIE_NAME] = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    for _ in range(3):
        login(client, "lan", "wrong")
    assert login(forged, "lan", PASSWORD).status_code == 200
    assert login(browser, "lan", PASSWORD).status_code == 302


def test_a_device_cookie_expires(tree, client, settings):
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    browser = _known_browser(tree)
    for _ in range(3):
        login(client, "lan", "wrong")
    settings.ATTT_DEVICE_COOKIE_DAYS = 0
    assert login(browser, "lan", PASSWORD).status_code == 200


def test_the_device_cookie_is_kept_from_scripts_and_other_sites(tree, settings):
    browser = _known_browser(tree)
    cookie = browser.cookies[settings.ATTT_DEVICE_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] == settings.ATTT_DEVICE_COOKIE_DAYS * 24 * 3600


def test_a_second_step_counts_against_the_browser_it_started_in(tree, client, settings):
    """A person with two-step verification gets the device cookie at the end of the second step, and wrong codes
    from their own browser count against that browser only."""
    settings.ATTT_LOGIN_MAX_FAILURES = 3
    browser = _known_browser(tree, totp_secret=pyotp.random_base32())  # password step only: no cookie yet
    assert settings.ATTT_DEVICE_COOKIE_NAME not in browser.cookies
    user = User.objects.get(username="lan")
    login(browser, "lan", PASSWORD)
    browser.post("/login/verify/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert "_auth_user_id" in browser.session and settings.ATTT_DEVICE_COOKIE_NAME in browser.cookies
    browser.post("/logout/")
    login(browser, "lan", PASSWORD)
    for _ in range(3):
        browser.post("/login/verify/", {"code": "000000"})
    assert set(LoginAttempt.objects.values_list("device", flat=True)) != {""}
    assert login(client, "lan", PASSWORD).status_code == 302  # the unknown clients' count is untouched


def test_a_known_browser_behind_an_address_over_its_limit_still_logs_in(tree, settings):
    """A ministry's offices leave through one address: someone spraying passwords from it must not keep every
    known browser behind it out (the per-address limit counts unknown clients)."""
    settings.ATTT_LOGIN_MAX_FAILURES_PER_IP = 3
    browser = _known_browser(tree)
    for n in range(3):
        login(Client(), f"guess{n}", "wrong", REMOTE_ADDR="127.0.0.1")
    assert login(Client(), "lan", PASSWORD, REMOTE_ADDR="127.0.0.1").status_code == 200
    assert login(browser, "lan", PASSWORD, REMOTE_ADDR="127.0.0.1").status_code == 302
