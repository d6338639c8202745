"""Loading Sigma rules (files, folders, bad files, reloads, the CLI), a fuzz test of the rule reader, and the
real engine end to end on real SigmaHQ rules."""

import datetime
import json
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.detection import detector, services
from attt.detection.models import Alert, SigmaRule
from attt.monitoring import pipeline
from attt.monitoring.pipeline import NormalisedEvent

pytestmark = pytest.mark.django_db

SIGMA = Path("/work/shared/testdata/sigma")
RULE = """title: Suspicious Whoami
id: 11111111-2222-4333-8444-555555555555
status: test
description: Whoami run by a service account
author: Tác giả A, Author B
tags:
  - attack.discovery
  - attack.t1033
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\\\whoami.exe'
  condition: selection
level: high
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reports_every_bad_file_and_keeps_enabled_on_reload(tmp_path):
    write(tmp_path, "good/whoami.yml", RULE)
    write(tmp_path, "bad/broken.yml", "title: [unclosed")
    write(tmp_path, "bad/noid.yaml", "title: No id\n")
    write(tmp_path, "bad/two.yml", RULE + "---\n" + RULE)
    write(tmp_path, "good/readme.txt", "not a rule")
    report = services.load_rules([tmp_path, tmp_path / "missing"])
    assert (report.files, report.created) == (4, 1)
    assert sorted(Path(p).name for p, _ in report.errors) == ["broken.yml", "missing", "noid.yaml", "two.yml"]
    rule = SigmaRule.objects.get()
    assert (rule.level, rule.techniques, rule.author, rule.product) == (
        "high",
        "T1033",
        "Tác giả A, Author B",
        "windows",
    )
    rule.enabled = False
    rule.save()
    again = services.load_rules([tmp_path / "good"])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    write(tmp_path, "good/whoami.yml", RULE.replace("level: high", "level: critical"))
    assert services.load_rules([tmp_path / "good"]).updated == 1
    rule.refresh_from_db()
    assert rule.level == "critical" and rule.enabled is False


def test_duplicate_ids_are_refused(tmp_path):
    write(tmp_path, "a.yml", RULE)
    write(tmp_path, "b.yml", RULE)
    report = services.load_rules([tmp_path])
    assert report.created == 1 and len(report.errors) == 1 and "b.yml" in report.errors[0][0]


def test_cli_loads_and_exits_2_on_bad_input(tmp_path):
    write(tmp_path, "whoami.yml", RULE)
    out = StringIO()
    call_command("detection", "rules", "load", str(tmp_path), "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == 1
    with pytest.raises(CommandError) as missing:
        call_command("detection", "rules", "load", str(tmp_path / "nope"), stdout=StringIO())
    assert missing.value.returncode == 2
    bad = tmp_path / "bad"
    write(bad, "x.yml", ": : :")
    with pytest.raises(CommandError) as refused:
        call_command("detection", "rules", "load", str(bad), stdout=StringIO())
    assert refused.value.returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match="No Sigma rule files") as nothing:
        call_command("detection", "rules", "load", str(empty), stdout=StringIO())
    assert nothing.value.returncode == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.dictionaries(st.text(max_size=10), st.text(max_size=20)).map(json.dumps)))
def test_parse_rule_only_raises_value_error(text):
    try:
        meta = services.parse_rule(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert meta["rule_id"] and meta["title"] and meta["level"] in services.SEVERITY_ORDER


@pytest.mark.skipif(not (SIGMA / "rules-windows").exists(), reason="no shared Sigma rules")
def test_real_rules_load_and_the_real_engine_raises_an_alert(tree):
    report = services.load_rules([SIGMA / "rules-windows" / "process_creation"])
    assert report.created > 500 and not report.errors
    assert SigmaRule.objects.filter(supported=True).count() > 0.9 * report.created
    # proc_creation_win_whoami_output: whoami.exe with "/FO CSV" (level medium, by Florian Roth and others).
    rule = SigmaRule.objects.get(rule_id="c30fb093-1109-4dc8-88a8-b30d11c95a5d")
    detector.forget()
    event = NormalisedEvent(
        id="evt-1",
        source_id=uuid.uuid4(),
        organization_id=tree.dept_a.pk,
        timestamp=datetime.datetime(2026, 11, 20, 8, 0, tzinfo=datetime.UTC),
        ecs={"event": {"original": "…"}},
        fields={
            "EventID": 1,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Image": "C:\\Windows\\System32\\whoami.exe",
            "OriginalFileName": "whoami.exe",
            "CommandLine": "whoami.exe /groups /FO CSV",
        },
    )
    assert pipeline.consumers()["detection"] is detector.consume
    try:
        pipeline.hand_over([event])
    finally:
        detector.forget()
    alert = Alert.objects.get(rule_id=rule.rule_id)  # other whoami rules may fire too
    assert alert.organization == tree.dept_a and alert.severity == rule.level
    assert alert.rule_author == rule.author and "Florian Roth" in alert.attribution


def test_demo_makes_reproducible_alerts_over_90_days(tree, tmp_path, monkeypatch):
    import random

    from attt.core import demo
    from attt.detection import demo_data
    from attt.registry.tests.factories import make_system

    monkeypatch.setenv("ATTT_TESTDATA_DIR", str(tmp_path))  # no rules there: indicator alerts only
    # One clock for both runs: hits fall into 15-minute windows aligned on the epoch, so a second run a moment
    # later could split an alert across a window boundary.
    fixed = timezone.now()
    monkeypatch.setattr(demo_data.timezone, "now", lambda: fixed)
    for org in (tree.dept_a, tree.dept_b, tree.ministry):
        make_system(org)
    out = StringIO()

    def run(seed):
        Alert.objects.all().delete()
        ctx = demo.DemoContext(rng=random.Random(seed), scale=0.1, progress=lambda m: None, stdout=out)
        summary = demo_data.load(ctx)
        return summary, sorted(Alert.objects.values_list("signature", "count", "status"))

    first, again = run(1), run(1)
    assert first == again and first[0]["alerts"] > 20 and first[0]["rules"] == 0
    assert "no Sigma rules" in out.getvalue()
    oldest = Alert.objects.order_by("first_seen").first().first_seen
    assert oldest < services.timezone.now() - datetime.timedelta(days=30)
    assert Alert.objects.filter(status="closed").exclude(reason="").exists()
