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
