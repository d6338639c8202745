"""The shell around the modules: language, security headers, deploy checks, demo data, jobs, mail."""

import os
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django_q.models import Schedule

from attt.core.models import Notification, Organization, OrganizationEvent, RoleAssignment, User
from attt.core.permissions import load_role_definitions
from attt.core.services import notifications
from attt.core.testing import make_user

PO_FILE = Path(__file__).resolve().parents[1] / "locale" / "vi" / "LC_MESSAGES" / "django.po"


def test_vietnamese_is_the_default_whatever_the_browser_says(client, db):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "vi"
    assert '<html lang="vi">' in response.content.decode()
    assert "Đăng nhập" in response.content.decode()


def test_language_switch_to_english_and_back(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert "Log in" in client.get("/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "vi", "next": "/login/"})
    assert "Đăng nhập" in client.get("/login/").content.decode()


def _catalogues() -> list[Path]:
    from django.apps import apps

    return [
        Path(app.path) / "locale" / "vi" / "LC_MESSAGES" / "django.po"
        for app in apps.get_app_configs()
        if app.name.startswith("attt.")
    ]


@pytest.mark.parametrize("po_file", _catalogues(), ids=lambda p: p.parts[-5])
def test_every_ui_string_has_a_vietnamese_translation(po_file):
    """Every module ships a complete Vietnamese catalogue (Vietnamese is the default language)."""
    assert po_file.exists(), f"{po_file}: run `make messages` and translate"
    catalogue = polib.pofile(str(po_file))
    assert catalogue.percent_translated() == 100, [e.msgid for e in catalogue.untranslated_entries()][:10]
    assert not catalogue.fuzzy_entries()


def test_role_names_are_translated():
    translated = {e.msgid for e in polib.pofile(str(PO_FILE)).translated_entries()}
    assert {r["name"] for r in load_role_definitions()} <= translated


def test_security_headers(client):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_login_form_needs_csrf(db):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login/", {"username": "a", "password": "b"}).status_code == 403


def test_pages_need_login(client, tree):
    for url in ["/", "/core/organizations/", "/core/audit/", "/profile/"]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url


def test_deploy_checks_are_clean_under_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "attt.settings.production",
        "ATTT_SECRET_KEY": "k" * 20 + "-production-like-secret-" + "z" * 30,
        "ATTT_DATA_DIR": str(tmp_path),
        "ATTT_ALLOWED_HOSTS": "attt.example.gov.vn",
    }
    result = subprocess.run(
        [sys.executable, "-m", "attt", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "attt.settings.production",
        "ATTT_SECRET_KEY": "",
        "ATTT_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "attt", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "ATTT_SECRET_KEY" in result.stderr


def test_demo_is_complete_and_reproducible(db, capsys):
    call_command("demo", "--only", "core", verbosity=0)
    out = capsys.readouterr().out
    assert "attt-demo-2026" in out
    kinds = Organization.objects.filter(is_active=True).values_list("kind", flat=True)
    assert list(kinds).count("ministry") >= 5
    assert list(kinds).count("province") >= 6
    assert list(kinds).count("soc_provider") == 2
    assert list(kinds).count("sector_cert") >= 1
    merged = OrganizationEvent.objects.filter(kind="merged").values_list("organization__code", flat=True)
    assert set(merged) >= {"bo-tttt", "ha-giang"}
    assert Organization.objects.get(code="ha-giang").merged_into.code == "tuyen-quang"
    roles = {r["code"] for r in load_role_definitions()} - {"national_admin"}
    for province in ("ha-noi", "tuyen-quang"):
        org = Organization.objects.get(code=province)
        held = set(
            RoleAssignment.objects.filter(organization__path__startswith=org.path).values_list("role__code", flat=True)
        )
        assert held == roles, province
    assert not User.objects.exclude(email__endswith="@demo.attt.invalid").exists()


def _demo_people() -> list:
    with transaction.atomic():
        call_command("demo", "--only", "core", verbosity=0)
        people = sorted(User.objects.values_list("username", "first_name", "last_name"))
        transaction.set_rollback(True)
    return people


def test_demo_is_reproducible(db):
    assert _demo_people() == _demo_people()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_demo_reset_starts_again(capsys):
    call_command("demo", "--only", "core", verbosity=0)
    Organization.objects.filter(code="ha-noi").update(name="Đổi tên")
    call_command("demo", "--reset", "--only", "core", verbosity=0)
    assert Organization.objects.get(code="ha-noi").name == "Thành phố Hà Nội"
    assert Schedule.objects.filter(name="core.audit-verify").exists()


def test_demo_refuses_to_load_twice(db, capsys):
    call_command("demo", "--only", "core", verbosity=0)
    count = Organization.objects.count()
    call_command("demo", "--only", "core", verbosity=0)
    assert "already loaded" in capsys.readouterr().out
    assert Organization.objects.count() == count


def test_platform_schedules_exist_after_migrate(db):
    assert Schedule.objects.filter(name="core.audit-verify", func="attt.core.services.audit.verify_and_alert").exists()


def test_broken_chain_alerts_national_administrators(tree, national_admin):
    from django.db import connection

    from attt.core.services.audit import verify_and_alert

    province_admin = make_user(tree.province_a, "org_admin", username="a-admin")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET object_repr = 'x' WHERE seq = 3")
    assert not verify_and_alert().ok
    assert Notification.objects.filter(recipient=national_admin, level="danger").exists()
    assert not Notification.objects.filter(recipient=province_admin).exists()


def test_notification_mail_goes_through_the_job_queue(tree):
    user = make_user(tree.province_a, "leader", username="lan")
    notifications.notify([user], title="Hạn báo cáo", body="Trước ngày 20", link="/")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["lan@example.invalid"]
    assert "Hạn báo cáo" in mail.outbox[0].subject
    assert Notification.objects.get(recipient=user).emailed_at is not None


def test_permission_holders_follow_the_tree(tree, national_admin):
    a_admin = make_user(tree.province_a, "org_admin", username="a-admin")
    b_admin = make_user(tree.province_b, "org_admin", username="b-admin")
    holders = notifications.permission_holders("core.user.add", tree.operator_a)
    assert a_admin in holders and national_admin in holders and b_admin not in holders


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/core/organizations/",
        "/core/users/",
        "/core/role-assignments/",
        "/core/audit/",
        "/profile/",
        "/core/notifications/",
        "/core/organizations/add/",
        "/core/users/add/",
        "/core/role-assignments/add/",
        "/profile/2fa/",
        "/profile/password/",
    ],
)
def test_main_pages_render_for_the_national_administrator(client, tree, national_admin, url):
    client.force_login(national_admin)
    assert client.get(url).status_code == 200


@override_settings(ATTT_LOGIN_MAX_FAILURES=5)
def test_ui_create_user_and_grant_role(client, tree):
    admin = make_user(tree.province_a, "org_admin", username="a-admin")
    client.force_login(admin)
    response = client.post(
        "/core/users/add/",
        {
            "username": "moi",
            "first_name": "Lan",
            "last_name": "Trần Thị",
            "organization": str(tree.dept_a.pk),
            "language": "vi",
            "is_active": "on",
            "password": "một-mật-khẩu-dài-2026",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="moi")
    assert str(user) == "Trần Thị Lan"
    assert user.check_password("một-mật-khẩu-dài-2026")
    refused = client.post(
        "/core/role-assignments/add/",
        {"user": str(user.pk), "role": "national_admin_id", "organization": str(tree.dept_a.pk)},
    )
    assert refused.status_code == 200
    from attt.core.models import Role

    national = Role.objects.get(code="national_admin")
    refused = client.post(
        "/core/role-assignments/add/", {"user": str(user.pk), "role": national.pk, "organization": str(tree.dept_a.pk)}
    )
    assert refused.status_code == 200 and not RoleAssignment.objects.filter(user=user).exists()
    leader = Role.objects.get(code="leader")
    ok = client.post(
        "/core/role-assignments/add/", {"user": str(user.pk), "role": leader.pk, "organization": str(tree.dept_a.pk)}
    )
    assert ok.status_code == 302
    assert RoleAssignment.objects.filter(user=user, role=leader).exists()


def test_oidc_single_sign_on_is_wired_when_enabled(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "attt.settings.test",
        "ATTT_OIDC_ENABLED": "true",
        "ATTT_OIDC_CLIENT_ID": "attt",
        "ATTT_OIDC_CLIENT_SECRET": "s3cret",
        "ATTT_OIDC_AUTHORIZATION_ENDPOINT": "https://sso.example.invalid/auth",
        "ATTT_OIDC_TOKEN_ENDPOINT": "https://sso.example.invalid/token",
        "ATTT_OIDC_USER_ENDPOINT": "https://sso.example.invalid/userinfo",
        "ATTT_OIDC_ISSUER": "https://sso.example.invalid",
        "ATTT_DATA_DIR": str(tmp_path),
    }
    script = (
        "import django; django.setup();"
        "from django.conf import settings; from django.urls import reverse;"
        "print(reverse('oidc_authentication_init'));"
        "print(settings.AUTHENTICATION_BACKENDS[-1])"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/oidc/authenticate/", "attt.core.auth.oidc.OrganisationOIDCBackend"]


def test_oidc_new_user_gets_no_role(db):
    from attt.core.auth.oidc import OrganisationOIDCBackend

    backend = OrganisationOIDCBackend.__new__(OrganisationOIDCBackend)
    backend.UserModel = User
    user = backend.create_user({"email": "an@example.invalid", "given_name": "An", "family_name": "Lê Văn"})
    assert user.username == "an@example.invalid" and str(user) == "Lê Văn An"
    assert not RoleAssignment.objects.filter(user=user).exists()
    assert not user.has_usable_password()


def test_the_file_cache_lists_its_folder_at_most_once_a_minute(tmp_path, monkeypatch):
    """Every write of Django's file cache listed the whole folder to cull it; ours does that once a minute."""
    from attt.core.cache import FileCache

    cache = FileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 3}})
    listed = []
    real = cache._list_cache_files
    monkeypatch.setattr(cache, "_list_cache_files", lambda: listed.append(1) or real())
    for n in range(10):
        cache.set(f"k{n}", n)
    assert len(listed) == 1 and cache.get("k9") == 9
    monkeypatch.setattr(cache, "_culled_at", cache._culled_at - FileCache.CULL_EVERY_S)
    cache.set("later", 1)
    assert len(listed) == 2 and len(real()) < 11  # the minute past: listed again, and culled
