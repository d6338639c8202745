"""Threat intelligence as an incident responder works it: upload a watch list (a bad row refuses the whole
file and is shown), fix it and import, then find an indicator by its defanged value; another province's
responder does not see it."""

import pytest
from playwright.sync_api import expect

from attt.core.testing import PASSWORD, make_user
from attt.intel.models import Indicator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def responder(tree):
    return make_user(tree.province_a, "incident_responder", username="resp-intel-a")


@pytest.fixture
def stranger(tree):
    return make_user(tree.province_b, "incident_responder", username="resp-intel-b")


def upload(page, tmp_path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    form = page.get_by_test_id("import-form")
    form.locator("input[type=file]").set_input_files(str(path))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_import_then_search(page, live_server, login, responder, stranger, tree, tmp_path):
    login(page, live_server, responder.username, PASSWORD)
    page.goto("/intel/indicators/import/")
    upload(
        page, tmp_path, "watch.txt", "# phishing\nhxxps://dang-nhap[.]example[.]com/vcb\n192.0.2.44\nkhông-phải-ioc\n"
    )
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("line 4")
    assert Indicator.objects.count() == 0

    upload(page, tmp_path, "watch.txt", "# phishing\nhxxps://dang-nhap[.]example[.]com/vcb\n192.0.2.44\n")
    expect(page.get_by_test_id("import-result")).to_be_visible()
    assert set(Indicator.objects.values_list("kind", "value")) == {
        ("url", "https://dang-nhap.example.com/vcb"),
        ("ipv4", "192.0.2.44"),
    }

    page.goto("/intel/indicators/?value=192[.]0[.]2[.]44")
    link = page.get_by_role("link", name="192.0.2.44")
    expect(link).to_be_visible()
    with page.expect_navigation():
        link.click()
    expect(page.locator("h1")).to_contain_text("ipv4: 192.0.2.44")

    page.context.clear_cookies()
    login(page, live_server, stranger.username, PASSWORD)
    page.goto("/intel/indicators/?q=192.0.2.44")
    expect(page.get_by_role("link", name="192.0.2.44")).to_have_count(0)
    response = page.goto(Indicator.objects.get(kind="ipv4").get_absolute_url())
    assert response.status == 404
