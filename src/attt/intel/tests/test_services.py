import datetime
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from attt.intel import services, store
from attt.intel.models import Collection, Indicator, StixObject, Technique
from attt.intel.tests.factories import make_report

TESTDATA = Path(__file__).resolve().parents[5] / "shared" / "testdata"
ATTACK = TESTDATA / "attack" / "ics-attack.json"


@pytest.fixture
def attack_loaded(db):
    if not ATTACK.exists():
        pytest.skip("../shared/testdata is not present")
    call_command("intel", "attack-load", str(ATTACK))


def test_attack_load_and_techniques(attack_loaded):
    techniques = services.attack_techniques()
    assert len(techniques) >= 80
    by_id = {t[0]: t for t in techniques}
    assert by_id["T0883"][1] == "Internet Accessible Device"
    assert "initial-access" in by_id["T0883"][2]
    assert Technique.objects.get(external_id="T0883").tactics.filter(external_id="TA0108").exists()
    call_command("intel", "attack-load", str(ATTACK))  # idempotent
    assert len(services.attack_techniques()) == len(techniques)


def test_attack_load_bad_file(tmp_path, db):
    bad = tmp_path / "x.json"
    bad.write_text('{"type": "bundle", "objects": []}')
    with pytest.raises(CommandError, match="no ATT&CK technique") as caught:
        call_command("intel", "attack-load", str(bad))
    assert caught.value.returncode == 2


def test_publish_upserts_and_shares(tree):
    report = make_report()
    count = services.publish(report, organization=tree.province_a)
    assert count == 8  # the observables to detect
    assert Indicator.objects.filter(organization=tree.province_a, tlp="amber", source="incident").count() == 8
    collection = Collection.objects.get(organization=tree.province_a, is_default=True)
    assert StixObject.objects.filter(collection=collection, type="report").count() == 1
    again = services.publish(report, organization=tree.province_a)
    assert again == 8 and Indicator.objects.count() == 8  # stable: no duplicates
    assert StixObject.objects.filter(collection=collection).count() == len(services.to_stix_bundle(report)["objects"])


def test_active_indicators_streams_active_ones(tree):
    services.publish(make_report(), organization=tree.province_a)
    Indicator.objects.filter(kind="md5").update(active=False)
    rows = list(services.active_indicators())
    assert len(rows) == 7
    assert ("ipv4", "192.0.2.10") in {(k, v) for k, v, _id in rows}
    assert all(k != "md5" for k, _v, _id in rows)


def test_list_import_reports_every_bad_row(tree):
    data = b"# watch list\n192.0.2.1\nexample[.]com\nnot a value\n999.1.1.1\nhxxp://bad.example.org/x\n"
    with pytest.raises(store.RefusedImport) as caught:
        store.import_data(tree.province_a, data, name="list.txt")
    assert [row for row, _m in caught.value.errors] == ["line 4", "line 5"]
    assert Indicator.objects.count() == 0  # all or nothing


def test_csv_import_with_columns(tree):
    data = "value,kind,comment\n0912 345 678,phone,lừa đảo\n1903 0123 4567 89,bank_account,tài khoản nhận tiền\n"
    result = store.import_data(tree.province_a, data.encode(), name="scam.csv", tlp="green")
    assert (result.created, result.updated) == (2, 0)
    assert set(Indicator.objects.values_list("kind", "value", "tlp")) == {
        ("phone", "+84912345678", "green"),
        ("bank_account", "19030123456789", "green"),
    }


def test_cli_import_stix_and_misp(tree, tmp_path, capsys):
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps(services.to_stix_bundle(make_report())))
    call_command("intel", "import", str(bundle), "--owner", tree.province_b.code, "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["created"] == 8 and out["reports"] == 1
    call_command("intel", "import", str(TESTDATA / "misp" / "existing_event.json"), "--format", "misp", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["created"] > 0
    assert Indicator.objects.filter(organization=tree.root, source="misp").count() == out["created"]


def test_cli_import_misp_feed_directory(tree, tmp_path, capsys):
    event = json.loads((TESTDATA / "misp" / "existing_event.json").read_text())
    uid = event["uuid"]
    (tmp_path / "manifest.json").write_text(json.dumps({uid: {"info": "x"}}))
    (tmp_path / f"{uid}.json").write_text(json.dumps(event))
    call_command("intel", "import", str(tmp_path), "--json")
    assert json.loads(capsys.readouterr().out)["reports"] == 1
    (tmp_path / "manifest.json").write_text(json.dumps({"../../etc/passwd": {}}))
    with pytest.raises(CommandError, match="not an event uuid"):
        call_command("intel", "import", str(tmp_path))


@pytest.mark.parametrize(
    "args, message",
    [
        (["/nonexistent/file.txt"], "does not exist"),
        (["{file}", "--owner", "nobody"], "No organisation"),
        (["{file}", "--format", "stix"], "not valid JSON"),
    ],
)
def test_cli_bad_input_exits_2(tree, tmp_path, args, message):
    path = tmp_path / "list.txt"
    path.write_text("192.0.2.1\n")
    args = [a.replace("{file}", str(path)) for a in args]
    with pytest.raises(CommandError, match=message) as caught:
        call_command("intel", "import", *args)
    assert caught.value.returncode == 2


def test_publish_into_a_named_collection(tree):
    Collection.objects.create(organization=tree.province_a, title="Ngân hàng", alias="ngan-hang-a")
    services.publish(make_report(), organization=tree.province_a, collection="ngan-hang-a")
    assert StixObject.objects.filter(collection__alias="ngan-hang-a").count() == 15
    assert not Collection.objects.filter(is_default=True).exists()
    with pytest.raises(ValueError, match="has no collection"):
        services.publish(make_report(), organization=tree.province_b, collection="ngan-hang-a")


def test_check_indicator_by_hand(tree):
    """What the indicator form and the API both refuse: a bad value, a duplicate canonical value, over 100 %."""
    known = Indicator.objects.create(organization=tree.province_a, kind="domain", value="evil.example.com")
    value, errors = store.check_indicator(tree.province_a, "domain", "EVIL.example.COM.", 50)
    assert value == "evil.example.com" and set(errors) == {"value"}
    assert store.check_indicator(tree.province_a, "domain", "evil.example.com", None, pk=known.pk)[1] == {}
    assert store.check_indicator(tree.province_b, "domain", "evil.example.com", 100) == ("evil.example.com", {})
    assert set(store.check_indicator(tree.province_a, "ipv4", "999.1.1.1", 101)[1]) == {"value", "confidence"}


@pytest.mark.parametrize(
    "fmt, data",
    [
        ("csv", "value,comment\n192.0.2.1,máy chủ\x00C2\n"),
        (
            "misp",
            json.dumps(
                {
                    "info": "x",
                    "Attribute": [{"type": "ip-dst", "value": "192.0.2.1", "comment": "a\x00", "to_ids": True}],
                }
            ),
        ),
    ],
)
def test_a_comment_the_database_cannot_keep_refuses_the_import(tree, fmt, data):
    """PostgreSQL refuses a NUL character in text (SQLite keeps it): a sentence, and nothing imported."""
    with pytest.raises(ValueError, match="NUL"):
        store.import_data(tree.dept_a, data.encode(), fmt=fmt, name="x")
    assert not Indicator.objects.exists()


def _dated_event(first_seen: str) -> str:
    attribute = {"type": "ip-dst", "value": "192.0.2.1", "to_ids": True, "first_seen": first_seen}
    return json.dumps({"info": "x", "Attribute": [attribute]})


def _dated_bundle(valid_from: str) -> str:
    indicator = {"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '192.0.2.1']"}
    return json.dumps({"type": "bundle", "objects": [{**indicator, "valid_from": valid_from}]})


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("fmt, make", [("misp", _dated_event), ("stix", _dated_bundle)])
def test_a_date_outside_the_calendar_in_utc_refuses_the_import(tree, fmt, make, when):
    """A first-seen or valid-from date that is ISO 8601 but before year 1 or after 9999 once in UTC passed the
    parser and broke the database write: the import page answered with a server error."""
    with pytest.raises(ValueError, match=r"not a date|not a valid valid_from"):
        store.import_data(tree.dept_a, make(when).encode(), fmt=fmt, name="x")
    assert not Indicator.objects.exists()


def _indicator(value: str, **fields) -> dict:
    stamp = "2026-01-01T00:00:00.000Z"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--0b7a1c3e-5d2f-4e6a-9b8c-1d2e3f4a5b6c",
        "created": stamp,
        "modified": stamp,
        "pattern": f"[domain-name:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": stamp,
        **fields,
    }


def test_a_revoked_indicator_is_not_served(tree):
    """A partner revoked an indicator (a false positive) and pushed the revoked version: the store kept the value
    of the first version active, refreshed it as if seen again, and detection went on alerting on it; a bundle
    holding only the revoked version imported it as well."""
    first = _indicator("false-positive.example.com")
    assert store.import_objects(tree.dept_a, [first]) == 1
    revoked = {**first, "modified": "2026-02-01T00:00:00.000Z", "revoked": True}
    assert store.import_objects(tree.dept_a, [revoked]) == 0
    assert Indicator.objects.get().active is False
    assert list(services.active_indicators()) == []
    other = _indicator("still-bad.example.com", id="indicator--9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a")
    bundle = {"type": "bundle", "objects": [{**revoked, "pattern": "[domain-name:value = 'x.example.com']"}, other]}
    store.import_data(tree.dept_b, json.dumps(bundle).encode(), fmt="stix", name="b.json")
    assert list(Indicator.objects.filter(organization=tree.dept_b).values_list("value", flat=True)) == [
        "still-bad.example.com"
    ]


def test_an_indicator_past_its_valid_until_is_not_served(tree):
    """An indicator whose STIX `valid_until` had passed was imported without an end of validity, so detection
    matched against it for ever; a later version valid for longer extends it, never shortens it."""
    stale = _indicator("old-c2.example.com", valid_until="2026-01-02T00:00:00.000Z")
    bundle = {"type": "bundle", "objects": [stale]}
    store.import_data(tree.dept_a, json.dumps(bundle).encode(), fmt="stix", name="b.json")
    assert Indicator.objects.get().valid_until == datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    assert list(services.active_indicators()) == []
    later = {**stale, "modified": "2026-01-03T00:00:00.000Z", "valid_until": "2099-01-01T00:00:00.000Z"}
    store.import_objects(tree.dept_a, [later])
    store.import_objects(tree.dept_a, [stale])  # an older, shorter validity does not cut it back
    assert Indicator.objects.get().valid_until == datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
    assert [v for _k, v, _id in services.active_indicators()] == ["old-c2.example.com"]


def test_a_merger_keeps_one_default_collection_and_each_indicator_once(tree):
    """Two departments that had each shared an incident (so each had its default collection) could not be merged:
    the merger was refused. The target's default stays, the source's collection is kept as an ordinary one, and
    an indicator both watched is kept once, seen over both periods at the stricter TLP."""
    import datetime as dt

    from django.utils import timezone

    from attt.core.services.organizations import merge
    from attt.intel import collections
    from attt.intel.models import Collection

    theirs, mine = collections.default_collection(tree.dept_a), collections.default_collection(tree.dept_b)
    early, late = timezone.now() - dt.timedelta(days=30), timezone.now()
    kept = Indicator.objects.create(
        organization=tree.dept_a,
        kind="ipv4",
        value="198.51.100.7",
        tlp="green",
        first_seen=late,
        last_seen=late,
        valid_until=late + dt.timedelta(days=1),
        active=False,
    )
    Indicator.objects.create(
        organization=tree.dept_b,
        kind="ipv4",
        value="198.51.100.7",
        tlp="red",
        first_seen=early,
        last_seen=early,
        valid_until=late + dt.timedelta(days=9),
        active=True,
    )
    Indicator.objects.create(organization=tree.dept_b, kind="ipv4", value="198.51.100.8")
    merge(tree.dept_b, tree.dept_a)
    assert list(Collection.objects.filter(organization=tree.dept_a, is_default=True)) == [theirs]
    assert Collection.objects.get(pk=mine.pk).organization_id == tree.dept_a.pk
    kept.refresh_from_db()
    assert (kept.tlp, kept.first_seen, kept.last_seen, kept.active) == ("red", early, late, True)
    assert kept.valid_until == late + dt.timedelta(days=9)  # valid as long as either said
    assert Indicator.objects.filter(organization=tree.dept_a).count() == 2
    from attt.core.models import AuditEvent

    merged = AuditEvent.objects.get(object_type="intel.indicator", changes__step="merge")
    assert merged.changes["after"] == {"kept_once": 1}
