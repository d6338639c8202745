"""What a newcomer meets after `make run`: the demo tree follows today's administrative map, and every demo
log-in finds something on the pages of its modules."""

import pytest
import yaml
from django.core.management import call_command

from attt.core import demo_data, navigation, scoping
from attt.core.models import Organization, User
from attt.detection.models import Alert
from attt.monitoring.models import Source
from attt.plans.models import Assignment
from attt.vulns.models import LeakNotice

pytestmark = pytest.mark.django_db


def test_demo_tree_follows_the_2025_map(capsys):
    call_command("demo", "--only", "core", verbosity=0)
    # A merged province leaves no department of its own beside the target's: one of each kind.
    assert not Organization.objects.filter(code__startswith="ha-giang", is_active=True).exists()
    template = yaml.safe_load(demo_data.DEMO_FILE.read_text(encoding="utf-8"))["province_units"]
    kinds = [spec["code"] for spec in template] + [u["code"] for spec in template for u in spec.get("units", [])]
    tuyen_quang = Organization.objects.get(code="tuyen-quang")
    for kind in kinds:
        unit = Organization.objects.get(code=f"ha-giang-{kind}")
        assert unit.merged_into.code == f"tuyen-quang-{kind}"
        assert unit.path.startswith(tuyen_quang.path)
    names = Organization.objects.filter(path__startswith=tuyen_quang.path, is_active=True).values_list("name")
    assert len(names) == len(set(names)) == 1 + len(kinds)
    # Ho Chi Minh City is never "Hồ Chí Minh" alone.
    assert Organization.objects.get(code="tp-hcm-so-yte").name == "Sở Y tế Thành phố Hồ Chí Minh"
    assert Organization.objects.get(code="ha-noi-so-yte").name == "Sở Y tế Hà Nội"
    assert Organization.objects.get(code="tuyen-quang-vp-ubnd").name == "Văn phòng Ủy ban nhân dân Tuyên Quang"


def test_demo_names_are_whole():
    data = yaml.safe_load(demo_data.DEMO_FILE.read_text(encoding="utf-8"))

    def specs(items):
        for spec in items:
            yield spec
            yield from specs(spec.get("units", []))

    groups = [data["root"], *data["ministries"], *data["provinces"], *data["province_units"]]
    groups += [*data["sector_certs"], *data["soc_providers"], *(item["source"] for item in data["history"])]
    for spec in specs(groups):
        assert None not in spec.values(), spec  # a comma in a flow mapping makes a key without a value


def test_every_demo_log_in_has_something_to_show(client, tmp_path, monkeypatch):
    """At 15 % scale (more systems than the alert loader once took: 400), without the public samples (indicator
    alerts only, the built-in plan)."""
    monkeypatch.setenv("ATTT_TESTDATA_DIR", str(tmp_path / "no-samples"))
    monkeypatch.setenv("ATTT_SEEDS_DIR", str(tmp_path / "no-seeds"))
    loaders = ["core", "registry", "plans", "vulns", "monitoring", "detection"]
    call_command("demo", "--only", *loaders, "--scale", "0.15", verbosity=0)
    for province in ("hn", "tq"):
        analyst = User.objects.get(username=f"{province}.socanalyst")
        assert scoping.visible(analyst, Source.objects.all()).exists(), analyst
        assert scoping.visible(analyst, Alert.objects.all()).exists(), analyst
        officer = User.objects.get(username=f"{province}.securityofficer")
        assert scoping.visible(officer, Assignment.objects.all()).exists(), officer
        assert scoping.visible(officer, LeakNotice.objects.all()).exists(), officer
    assert LeakNotice.objects.filter(status="handled").exists()

    for username in ("admin", "qg.leader", "hn.securityofficer", "hn.socanalyst", "tq.systemowner"):
        user = User.objects.get(username=username)
        client.force_login(user)
        urls = ["/"] + [item.url for _section, items in navigation.menu_for(scoping.get_scope(user)) for item in items]
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (username, url, response.status_code)
            assert response.content.strip(), (username, url)


def test_demo_alerts_are_the_same_whenever_loaded(tree, tmp_path, monkeypatch):
    """Hits group into windows aligned on the epoch: two loads minutes apart once made different alerts."""
    import datetime
    import io
    import random

    from django.utils import timezone

    from attt.core import demo
    from attt.detection import demo_data as detection_demo
    from attt.registry.tests.factories import make_system

    monkeypatch.setenv("ATTT_TESTDATA_DIR", str(tmp_path))
    for org in (tree.dept_a, tree.dept_b, tree.ministry):
        make_system(org)
    start = timezone.now()

    def load(minutes: int) -> list:
        Alert.objects.all().delete()
        monkeypatch.setattr(detection_demo.timezone, "now", lambda: start + datetime.timedelta(minutes=minutes))
        ctx = demo.DemoContext(rng=random.Random(3), scale=0.2, progress=lambda _m: None, stdout=io.StringIO())
        detection_demo.load(ctx)
        return sorted(Alert.objects.values_list("signature", "organization_id", "count", "status"))

    first = load(0)
    assert first and all(load(minutes) == first for minutes in (4, 7, 11))


def test_an_interrupted_demo_load_leaves_nothing_to_pass_for_a_loaded_demo(monkeypatch):
    """A load stopped part way (Ctrl-C, a failing loader) kept the organisations of its first steps: the next
    `make run` said "already loaded" and served an almost empty platform. The load is one transaction."""
    from attt.core import demo

    def broken(ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "loaders", [*demo.loaders, demo.Loader("broken", 10_000, broken)])
    with pytest.raises(KeyboardInterrupt):
        call_command("demo", "--only", "core", "broken", verbosity=0)
    assert not Organization.objects.exists()


def test_the_demo_leaves_nothing_for_the_nightly_jobs_to_change_in_the_figures(db):
    """The Level-based figures changed at the server's first start (20.9 % of systems fully implementing, then
    17.5 %): the demo matched vulnerability warnings but left the checklists' vulnerability-management items
    for the nightly job to bring up to date."""
    from attt.vulns import services as vulns
    from attt.vulns.models import VulnWarning

    call_command("demo", "--only", "core", "registry", "compliance", "vulns", "--scale", "0.05", verbosity=0)
    assert VulnWarning.objects.exists()  # the public samples gave warnings to follow
    assert vulns.update_checklists() == 0
