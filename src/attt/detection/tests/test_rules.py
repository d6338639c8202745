"""Loading Sigma rules (files, folders, bad files, reloads, the CLI), a fuzz test of the rule reader, and the
real engine end to end on real SigmaHQ rules."""

import datetime
import json
import re
import uuid
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from hypothesis import HealthCheck, event, given, settings
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


# Any value YAML can hold: JSON's types and the dates YAML reads from `2024-01-01`.
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=15) | st.dates(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
TEXTS = st.lists(st.text(max_size=15), max_size=3)
RULE_FIELDS_READ = {
    "description": st.text(max_size=20),
    "status": st.sampled_from(["stable", "test", "experimental"]),
    "level": st.sampled_from(["low", "high", "critical", "unknown"]),
    "author": st.text(max_size=15) | TEXTS,
    "tags": TEXTS,
    "references": TEXTS,
    "falsepositives": TEXTS,
    "logsource": st.fixed_dictionaries(
        {}, optional={"product": st.text(max_size=8), "category": st.text(max_size=8), "service": st.text(max_size=8)}
    ),
    "detection": st.just({"selection": {"Image|endswith": "\\whoami.exe"}, "condition": "selection"}),
}


@st.composite
def sigma_rules(draw):
    """A rule with an id and a title (so the reader gets past them) whose fields are each of their Sigma type,
    absent or, one time in six, a random YAML value."""
    fields = {"id": st.uuids().map(str), "title": st.text(min_size=1, max_size=20), **RULE_FIELDS_READ}
    rule = {}
    for name, good in fields.items():
        choice = draw(st.sampled_from(["good"] * 4 + ["absent", "random"]))
        if choice != "absent" or name in ("id", "title"):
            rule[name] = draw(yaml_values if choice == "random" else good)
    if isinstance(rule.get("logsource"), dict) and draw(st.booleans()):
        rule["logsource"]["product"] = draw(yaml_values)
    return rule


def _wrongly_typed(rule: dict) -> list[str]:
    """The fields whose type the Sigma specification does not allow (None counts as absent)."""
    kinds = {"id": str, "title": str, "description": str, "status": str, "level": str}
    wrong = [name for name, kind in kinds.items() if rule.get(name) is not None and not isinstance(rule[name], kind)]
    for name in ("tags", "references", "falsepositives", "author"):
        value = rule.get(name)
        if name == "author" and isinstance(value, str):
            continue
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            wrong.append(name)
    wrong += [
        name for name in ("logsource", "detection") if rule.get(name) is not None and not isinstance(rule[name], dict)
    ]
    logsource = rule.get("logsource") if isinstance(rule.get("logsource"), dict) else {}
    wrong += [
        f"logsource.{name}"
        for name in ("product", "category", "service")
        if logsource.get(name) is not None and not isinstance(logsource[name], str)
    ]
    return wrong


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sigma_rules())
def test_parse_rule_refuses_every_wrongly_typed_field_with_its_name(rule):
    wrong = _wrongly_typed(rule)
    try:
        with translation.override("en"):
            meta = services.parse_rule(yaml.safe_dump(rule, allow_unicode=True))
    except ValueError as exc:
        message = str(exc)
        event("refused: wrongly typed" if wrong else "refused: id or title")
        assert message.endswith(".")
        if wrong:
            assert any(message.startswith(f"The rule's {name} must be ") for name in wrong), (message, wrong)
        else:  # only the id/title rules may refuse a well-typed rule
            assert message in (
                "A Sigma rule needs an id and a title.",
                "The rule id is longer than 64 characters.",
            )
        return
    event("accepted")
    assert not wrong, f"{wrong} taken although wrongly typed"
    assert all(isinstance(meta[k], str) for k in meta if k != "tags")
    assert isinstance(meta["tags"], list) and all(isinstance(t, str) for t in meta["tags"])
    assert meta["level"] in services.SEVERITY_ORDER


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("tags", "5", "The rule's tags must be a list of texts."),
        ("tags", "true", "The rule's tags must be a list of texts."),
        ("tags", "2024-01-01", "The rule's tags must be a list of texts."),
        ("tags", "[attack.t1033, 5]", "The rule's tags must be a list of texts."),
        ("level", "[high]", "The rule's level must be text."),
        ("status", "2024-01-01", "The rule's status must be text."),
        ("falsepositives", "{a: b}", "The rule's falsepositives must be a list of texts."),
        ("references", "7", "The rule's references must be a list of texts."),
        ("logsource", "windows", "The rule's logsource must be a mapping."),
        ("logsource", "{product: [windows]}", "The rule's logsource.product must be text."),
        ("detection", "[selection]", "The rule's detection must be a mapping."),
    ],
)
def test_one_odd_rule_is_reported_and_the_others_load(tmp_path, field, value, reason):
    write(tmp_path, "good.yml", RULE)
    odd = RULE.replace("11111111-2222-4333-8444-555555555555", "66666666-2222-4333-8444-555555555555")
    odd = re.sub(rf"^{field}:.*?(?=^\w|\Z)", "", odd, flags=re.M | re.S) + f"{field}: {value}\n"
    write(tmp_path, "odd.yml", odd)
    with translation.override("en"):
        report = services.load_rules([tmp_path])
    assert (report.files, report.created) == (2, 1)
    assert [(Path(path).name, why) for path, why in report.errors] == [("odd.yml", reason)]
    assert SigmaRule.objects.get().rule_id == "11111111-2222-4333-8444-555555555555"


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
