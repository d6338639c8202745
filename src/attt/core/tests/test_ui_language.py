"""The shell in Vietnamese and without script, as the UI review found it: labels of the audit log, role names,
Django's own messages, words for screen readers, long lists in pages, and what works when script is off."""

import re
from pathlib import Path

import django
import polib
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from attt.core import audit
from attt.core.framework_messages import DJANGO_MESSAGES_FOR_TRANSLATION
from attt.core.models import AuditEvent, Notification, Role, RoleAssignment
from attt.core.testing import make_user

CORE = Path(__file__).resolve().parents[1]
CORE_PO = CORE / "locale" / "vi" / "LC_MESSAGES" / "django.po"
DJANGO_LOCALE = Path(django.__file__).parent / "conf" / "locale"


@pytest.fixture
def org_admin(tree):
    return make_user(tree.province_a, "org_admin", username="admin-ui-a")


def test_audit_event_page_labels_are_vietnamese(client, tree, org_admin):
    client.force_login(org_admin)
    event = audit.record("workflow", object_type="core.organization", object_repr="Tỉnh A", organization=tree.dept_a)
    page = client.get(reverse("core:auditevent_detail", args=[event.seq]))
    labels = [str(label) for label, _value in page.context["rows"]]
    assert labels[:3] == ["số thứ tự", "thời điểm", "tên đăng nhập"]
    assert "mã băm của sự kiện trước" in labels and "mã băm" in labels
    for field in AuditEvent._meta.concrete_fields:  # every field named in words, none left as its code name
        assert field.verbose_name != field.name.replace("_", " "), field.name


def test_audit_hash_is_the_same_whatever_the_language(tree):
    event = audit.record("workflow", object_type="core.organization", object_repr="Tỉnh A", organization=tree.root)
    with translation.override("en"):
        english = event.compute_hash()
    with translation.override("vi"):
        assert event.compute_hash() == english == event.hash
    assert audit.verify_chain().ok


def test_built_in_role_names_are_translated_and_others_kept(client, tree, org_admin):
    officer = Role.objects.get(code="security_officer")
    own = Role.objects.create(code="kiem-tra", name="Inspector", permissions=["*.*.view"])  # a built-in's words
    with translation.override("vi"):
        assert str(officer) == "Cán bộ chuyên trách an toàn thông tin"
        assert str(own) == "Inspector"
    with translation.override("en"):
        assert str(officer) == "Security officer"

    user = make_user(tree.dept_a, "security_officer", username="can-bo-so-a")
    client.force_login(org_admin)
    listing = client.get(reverse("core:roleassignment_list")).content.decode()
    assert "Cán bộ chuyên trách an toàn thông tin" in listing and "Security officer" not in listing
    form = client.get(reverse("core:roleassignment_add")).content.decode()
    assert f'<option value="{officer.pk}">Cán bộ chuyên trách an toàn thông tin</option>' in form
    assert "Security officer" not in form
    assert RoleAssignment.objects.filter(user=user).exists()


def test_django_messages_we_translate_are_djangos():
    """A typo would leave the marker unused and the message in English: every text is one of Django's."""
    django_ids = {e.msgid for e in polib.pofile(str(DJANGO_LOCALE / "en" / "LC_MESSAGES" / "django.po"))}
    assert set(DJANGO_MESSAGES_FOR_TRANSLATION) <= django_ids
    ours = {e.msgid for e in polib.pofile(str(CORE_PO)).translated_entries()}
    assert set(DJANGO_MESSAGES_FOR_TRANSLATION) <= ours


def test_slug_error_is_in_our_vietnamese(client, tree, org_admin):
    """Django's Vietnamese catalogue leaves the slug message in English; core's catalogue, first in
    LOCALE_PATHS, gives it."""
    message = "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens."
    ours = next(e.msgstr for e in polib.pofile(str(CORE_PO)) if e.msgid == message)
    djangos = [e for e in polib.pofile(str(DJANGO_LOCALE / "vi" / "LC_MESSAGES" / "django.po")) if e.msgid == message]
    assert not djangos or djangos[0].msgstr != ours
    client.force_login(org_admin)
    page = client.post(
        reverse("core:organization_add"),
        {"parent": tree.province_a.pk, "code": "mã có dấu", "name": "Phòng mới", "kind": "unit"},
    )
    assert page.status_code == 200
    assert page.context["form"].errors["code"] == [ours]


def test_csrf_failure_page_is_vietnamese(db):
    page = Client(enforce_csrf_checks=True).post("/login/", {"username": "a", "password": "b"})
    assert page.status_code == 403
    assert "Kiểm tra chống giả mạo yêu cầu (CSRF) không đạt." in page.content.decode()


def test_notification_badge_speaks_vietnamese(client, tree, org_admin):
    Notification.objects.create(recipient=org_admin, title="Cảnh báo mới")
    client.force_login(org_admin)
    badge = client.get(reverse("core:notification_badge")).content.decode()
    assert re.search(r">1<span class=\"visually-hidden\"> chưa đọc</span>", badge)
    home = client.get("/").content.decode()
    # the bell's name is text inside the link, so the count that follows it is read out too
    bell = re.search(r'<a [^>]*href="/core/notifications/"[^>]*>(.*?)</a>', home, re.S)
    assert "aria-label" not in bell.group(0) and "Thông báo" in bell.group(1) and "chưa đọc" in bell.group(1)


def test_notifications_are_paged_not_cut(client, tree, org_admin):
    Notification.objects.bulk_create(Notification(recipient=org_admin, title=f"Thông báo {i}") for i in range(230))
    client.force_login(org_admin)
    pages = [client.get(reverse("core:notification_list"), {"page": n}) for n in (1, 2, 3, 4, 5)]
    counts = [len(p.context["page"].object_list) for p in pages]
    assert counts == [50, 50, 50, 50, 30]
    shown = {n.pk for p in pages for n in p.context["page"]}
    assert len(shown) == 230
    assert "page=2" in pages[0].content.decode()


# --- without script ------------------------------------------------------------------------------------------


def test_shell_has_a_way_to_the_profile_without_script(client, tree, org_admin):
    client.force_login(org_admin)
    page = client.get("/").content.decode()
    link = re.search(r'<a class="[^"]*\bnojs-only\b[^"]*" href="/profile/"', page)
    assert link, "no profile link for browsers without script"
    assert re.search(r'<div class="dropdown js-only">', page)
    assert re.search(r'<script src="[^"]*core/app\.js"></script>', page)  # not deferred: before the first paint


def test_app_script_and_style_switch_the_fallbacks():
    script = (CORE / "static" / "core" / "app.js").read_text()
    assert 'document.documentElement.classList.add("js")' in script
    assert script.index('classList.add("js")') < script.index("DOMContentLoaded")
    style = (CORE / "static" / "core" / "app.css").read_text()
    assert "html.js .nojs-only, html:not(.js) .js-only { display: none !important; }" in style
    assert "html:not(.js) .tab-content > .tab-pane { display: block; opacity: 1; }" in style


def test_profile_page_logs_out(client, tree, org_admin):
    client.force_login(org_admin)
    page = client.get(reverse("profile")).content.decode()
    main = page[page.index('<main id="main"') :]  # the page's own, not the user menu's in the top bar
    form = re.search(r'<form method="post" action="/logout/">.*?</form>', main, re.S)
    assert form and 'type="submit"' in form.group(0) and "Đăng xuất" in form.group(0)
    assert client.post("/logout/").status_code == 302
    assert client.get(reverse("profile")).status_code == 302  # logged out: back to the log-in page


def test_server_error_page_asks_for_no_favicon():
    page = (CORE / "templates" / "500.html").read_text()
    assert '<link rel="icon" href="data:,">' in page


def test_lists_show_dates_in_the_short_numeric_form_of_the_language(client, tree, org_admin):
    """A list's date column read "10:39 Ngày 25 tháng 11 năm 2026" (Django's long Vietnamese form), which made
    every row of the alert list five lines tall; lists now write 25/11/2026 10:39, detail pages keep the long form."""
    import datetime as dt

    from django.utils import timezone

    from attt.core.templatetags.attt import cell

    def text(html) -> str:
        return re.sub(r"<[^>]+>", "", str(html))

    moment = dt.datetime(2026, 11, 25, 3, 39, tzinfo=dt.UTC)
    with timezone.override("Asia/Ho_Chi_Minh"), translation.override("vi"):
        assert text(cell(moment, "short")) == "25/11/2026 10:39" and text(cell(moment.date(), "short")) == "25/11/2026"
        assert cell(moment) == "10:39 Ngày 25 tháng 11 năm 2026"
        url = "https://" + "a" * 40 + ".example/p"
        assert cell(url) == f'<span class="break-anywhere">{url}</span>' and cell("Nghiêm trọng") == "Nghiêm trọng"
    with timezone.override("Asia/Ho_Chi_Minh"), translation.override("en"):
        assert text(cell(moment, "short")) == "2026-11-25 10:39"
    client.force_login(org_admin)
    page = client.get(reverse("core:auditevent_list")).content.decode()
    assert re.search(r"<td>\d{2}/\d{2}/20\d{2} \d{2}:\d{2}</td>", page)


def test_a_multiple_choice_from_a_query_is_read_once(tree, django_assert_num_queries):
    """Sizing a multiple choice to its options read a query-backed one (every organisation) a second time."""
    from django import forms

    from attt.core.models import Organization
    from attt.core.templatetags.attt import control

    class Pick(forms.Form):
        organizations = forms.ModelMultipleChoiceField(queryset=Organization.objects.all())
        kinds = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")])

    form = Pick()
    with django_assert_num_queries(1):
        html = str(control(form["organizations"]))
    assert "size=" not in html and tree.province_a.name in html
    assert 'size="2"' in str(control(form["kinds"]))
