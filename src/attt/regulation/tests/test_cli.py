"""`attt levels`: output, --json, and exit code 2 with one sentence for bad input."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args: str) -> str:
    out = StringIO()
    call_command("levels", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def facts_file(tmp_path):
    def write(content) -> str:
        path = tmp_path / "facts.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        return str(path)

    return write


def test_assess_prints_level_deciding_criterion_and_grounds(facts_file):
    path = facts_file({"system_type": "citizen_service", "users_with_private_data": 10000})
    out = run("assess", path, "--regime", "ND85_2016")
    assert out.startswith("Level 3 (Decree 85/2016, ND85_2016)")
    assert "Deciding criterion: ND85-9.2.c (Decree 85/2016/ND-CP Art 9.2.c)" in out
    assert "users_with_private_data = 10,000" in out


def test_assess_json_is_one_object(facts_file):
    path = facts_file(
        {"regime": "ND331_2026", "facts": {"system_type": "citizen_service", "data_subjects_basic": 100000}}
    )
    data = json.loads(run("assess", path, "--json"))
    assert data["level"] == 3 and data["regime"] == "ND331_2026"
    assert data["deciding_criterion"]["id"] == "ND331-13.2.c"
    assert data["explanation"]["vi"] and data["explanation"]["en"]


def test_assess_picks_the_regime_by_date(facts_file):
    path = facts_file({"system_type": "citizen_service", "users_with_private_data": 10000})
    assert json.loads(run("assess", path, "--on", "2026-08-18", "--json"))["regime"] == "ND85_2016"
    assert json.loads(run("assess", path, "--on", "2026-08-19", "--json"))["regime"] == "ND331_2026"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "Cannot read"),
        ("{not json", "is not valid JSON"),
        ({"users_with_private_data": "many"}, "Invalid facts: facts.users_with_private_data"),
        ({"userz": 1}, "unknown fact"),
    ],
)
def test_bad_input_exits_with_code_2(facts_file, tmp_path, content, fragment):
    path = str(tmp_path / "missing.json") if content is None else facts_file(content)
    with pytest.raises(CommandError) as info:
        run("assess", path)
    assert info.value.returncode == 2
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_regime_and_bad_date_exit_with_code_2(facts_file):
    path = facts_file({})
    for args in (["--regime", "ND99"], ["--on", "19-08-2026"]):
        with pytest.raises(CommandError) as info:
            run("assess", path, *args)
        assert info.value.returncode == 2


def test_regimes_and_requirements():
    out = run("regimes")
    assert "ND85_2016" in out and "ND331_2026" in out and "L3 71" in out
    rows = json.loads(run("requirements", "--regime", "ND85_2016", "--level", "3", "--json"))
    assert len(rows) == 71 and any(r["key"] == "vulnerability_management" for r in rows)
    text = run("requirements", "--regime", "ND331_2026", "--level", "1")
    assert "[unverified]" in text and text.rstrip().endswith("37 requirement(s) at level 1 under ND331_2026.")
    assert json.loads(run("regimes", "--json"))[0]["requirements_per_level"]["5"] == 75


def test_the_real_command_line_exits_2_with_one_line_on_stderr(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1,", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "django", "levels", "assess", str(bad)],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "attt.settings.test", "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not valid JSON" in lines[0]
