"""The loader: the shipped data is valid, and a broken file is refused with its name and the path."""

import re
import shutil
from pathlib import Path

import pytest

from attt.regulation import loader
from attt.regulation.errors import DataError

DOCS = Path(__file__).resolve().parents[4] / "docs"


@pytest.fixture
def data(tmp_path):
    """A writable copy of the data folder; `edit(file, old, new)` changes one file."""
    root = tmp_path / "data"
    shutil.copytree(loader.DATA_DIR, root)

    def edit(name: str, old: str, new: str) -> None:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    edit.root = root
    return edit


def refused(root) -> str:
    with pytest.raises(DataError) as info:
        loader.load_catalogue(root)
    return str(info.value)


def test_the_shipped_data_loads_and_is_cached():
    first = loader.catalogue()
    assert first is loader.catalogue()
    assert [r.code for r in first.regimes] == ["ND85_2016", "ND331_2026"]
    assert loader.reload() is not first
    assert loader.catalogue() is loader.catalogue()


def test_a_broken_yaml_file_is_refused_with_line_and_column(data):
    data("ND85_2016/timers.yaml", "  - step: appraisal\n    levels: [3]", "  - step: appraisal\n    levels: [3")
    message = refused(data.root)
    assert message.startswith("ND85_2016/timers.yaml: line ") and "not valid YAML" in message


def test_an_unknown_fact_in_a_condition_names_file_and_path(data):
    data(
        "ND331_2026/criteria.yaml",
        "{fact: data_subjects_basic, gte: 100000}",
        "{fact: data_subjcts_basic, gte: 100000}",
    )
    message = refused(data.root)
    assert message.startswith("ND331_2026/criteria.yaml: criteria[")
    assert ".when.all[1].any[0].fact: unknown fact 'data_subjcts_basic'" in message


def test_an_unknown_operator_is_refused(data):
    data(
        "ND85_2016/criteria.yaml",
        "{fact: users_with_private_data, gte: 10000}",
        "{fact: users_with_private_data, ge: 10000}",
    )
    assert "unknown operator" in refused(data.root)


def test_a_value_the_fact_cannot_take_is_refused(data):
    data("ND85_2016/criteria.yaml", "{fact: construction_grade, eq: I}", "{fact: construction_grade, eq: V}")
    message = refused(data.root)
    assert "ND85_2016/criteria.yaml: criteria[15].when.all[1].eq" in message and "'V' is not a value" in message


def test_a_fact_of_another_regime_is_refused(data):
    data(
        "ND331_2026/criteria.yaml",
        "{fact: data_subjects_basic, gte: 100000}",
        "{fact: users_with_private_data, gte: 100000}",
    )
    assert "is not read by ND331_2026" in refused(data.root)


def test_an_example_that_contradicts_its_criterion_is_refused(data):
    data(
        "ND85_2016/criteria.yaml",
        "users_with_private_data: 10000}\n      fail",
        "users_with_private_data: 9000}\n      fail",
    )
    message = refused(data.root)
    assert "criteria[9].examples.meet[0]: the example does not meet ND85-9.2.c" in message


def test_a_threshold_criterion_without_a_failing_example_is_refused(data):
    data(
        "ND85_2016/criteria.yaml",
        "      fail:\n        - {system_type: citizen_service, online_public_service_level: 2}\n",
        "",
    )
    assert "criteria[7].examples.fail: a criterion with a threshold needs an example" in refused(data.root)


def test_a_duplicate_key_is_refused(data):
    data("ND331_2026/timers.yaml", "    amount: 25\n", "    amount: 25\n    amount: 20\n")
    assert re.match(r"ND331_2026/timers\.yaml: line \d+: the key 'amount' appears twice", refused(data.root))


def test_an_unknown_key_is_refused(data):
    data(
        "ND85_2016/checks.yaml",
        "    measure: interval\n",
        "    measure: interval\n    mesure: interval\n",
    )
    assert "ND85_2016/checks.yaml: checks[0].mesure: unknown key" in refused(data.root)


def test_an_unknown_instrument_is_refused(data):
    data(
        "ND85_2016/timers.yaml",
        "{instrument: ND85_2016, article: 17, clause: 2}",
        "{instrument: ND86_2016, article: 17, clause: 2}",
    )
    assert "timers[3].legal_basis.instrument: unknown instrument 'ND86_2016'" in refused(data.root)


def test_overlapping_regimes_are_refused(data):
    data("ND85_2016/regime.yaml", "effective_to: 2026-08-18", "effective_to: 2026-08-19")
    assert "overlaps ND331_2026" in refused(data.root)


def test_a_missing_required_requirement_key_is_refused(data):
    data("ND85_2016/requirements.yaml", "key: vulnerability_management", "key: weakness_management")
    assert "vulnerability_management" in refused(data.root)


def test_a_holiday_on_a_weekend_is_refused(data):
    data("calendar/holidays.yaml", "{date: 2027-05-03,", "{date: 2027-05-01,")
    assert refused(data.root).startswith("calendar/holidays.yaml: years.2027.holidays[8].date")


def test_a_missing_file_is_refused(data):
    (data.root / "ND331_2026" / "reports.yaml").unlink()
    assert refused(data.root) == "ND331_2026/reports.yaml: the file is missing"


def test_yes_and_no_stay_text(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: yes\nb: no\nc: on\nd: true\n", encoding="utf-8")
    assert loader.read_yaml(path, "x.yaml") == {"a": "yes", "b": "no", "c": "on", "d": True}


def test_facts_match_the_contract_in_docs_level_facts():
    """docs/level-facts.md is the contract; facts.yaml must define exactly its keys and defaults."""
    text = (DOCS / "level-facts.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (.+?) \| `?(.+?)`? \|", text, flags=re.M)
    documented = {name: default for name, _type, default in rows}
    facts = loader.catalogue().facts
    assert set(documented) == set(facts)
    for name, default in documented.items():
        value = facts[name].default
        if value is None:
            shown = "null"
        elif isinstance(value, bool):
            shown = str(value).lower()
        elif isinstance(value, list):
            shown = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        else:
            shown = str(value)
        assert shown == default, name
    for name, fact in facts.items():
        if fact.type in ("enum", "list"):
            line = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
            for value in fact.values:
                assert f"`{value}`" in line, (name, value)


@pytest.mark.parametrize(
    ("name", "old", "new", "named"),
    [
        ("facts.yaml", "type: bool\n", "type: boolean\n", "facts.yaml: facts["),
        ("ND331_2026/incidents.yaml", "regime: ND331_2026", "regime: ND85_2016", "ND331_2026/incidents.yaml"),
    ],
)
def test_the_system_check_reports_broken_data(monkeypatch, data, name, old, new, named):
    """Every file, the incident policies too (read apart from the catalogue, when first used)."""
    from attt.regulation.checks import regulation_data

    assert regulation_data() == []
    data(name, old, new)
    loader.catalogue.cache_clear()
    monkeypatch.setattr(loader, "DATA_DIR", data.root)
    try:
        errors = regulation_data()
        assert errors and errors[0].id == "regulation.E001" and named in errors[0].msg
    finally:
        monkeypatch.undo()
        loader.reload()
