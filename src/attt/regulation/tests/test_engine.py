"""The level engine: thresholds, composites, flags, notes, regime choice, explanations."""

import datetime as dt

import pytest

from attt.regulation import services
from attt.regulation.errors import InvalidFacts, NoRegimeInForce, UnknownRegime

SERVICE = {"system_type": "citizen_service", "information_classes": ["public", "personal"]}


def ids(result):
    return {c.id for c in result.met}


@pytest.mark.parametrize(("users", "level", "criterion"), [(10_000, 3, "ND85-9.2.c"), (9_999, 2, "ND85-8.2.c")])
def test_nd85_ten_thousand_users_threshold(users, level, criterion):
    result = services.assess({**SERVICE, "users_with_private_data": users}, regime="ND85_2016")
    assert result.level == level
    assert criterion in ids(result)
    assert ("ND85-9.2.c" in ids(result)) is (users >= 10_000)


@pytest.mark.parametrize(
    ("basic", "sensitive", "level3"),
    [(100_000, 0, True), (99_999, 0, False), (0, 10_000, True), (0, 9_999, False), (99_999, 9_999, False)],
)
def test_nd331_data_subject_thresholds(basic, sensitive, level3):
    facts = {**SERVICE, "data_subjects_basic": basic, "data_subjects_sensitive": sensitive}
    result = services.assess(facts, regime="ND331_2026")
    assert ("ND331-13.2.c" in ids(result)) is level3
    assert ("ND331-12.2.b" in ids(result)) is (not level3)
    assert result.level == (3 if level3 else 2)


def test_composite_takes_the_highest_level_and_says_which_component():
    facts = {
        "system_type": "internal",
        "components": [
            {**SERVICE, "users_with_private_data": 50},
            {"system_type": "industrial_control", "construction_grade": "I"},
            {"system_type": "internal", "information_classes": ["private"]},
        ],
    }
    result = services.assess(facts, regime="ND85_2016")
    assert result.level == 4
    assert result.deciding.id == "ND85-10.4"
    assert result.deciding_path == "components[1]"
    assert [c.level for c in result.components] == [2, 4, 2]
    assert result.level == max(c.level for _, c in result.all_met())
    assert "component 2" in result.explanation_en and "Art 5.2" in result.explanation_en


def test_nested_components_report_their_path():
    facts = {"components": [{"components": [{}, {"central_national_data": True}]}]}
    result = services.assess(facts, regime="ND331_2026")
    assert result.level == 5
    assert result.deciding_path == "components[0].components[1]"
    assert result.national_security_important


def test_own_criterion_wins_a_tie_with_a_component():
    facts = {
        **SERVICE,
        "conditional_business_line": True,
        "components": [{**SERVICE, "users_with_private_data": 20_000}],
    }
    result = services.assess(facts, regime="ND85_2016")
    assert result.level == 3 and result.deciding_path == "" and result.deciding.id == "ND85-9.2.b"


def test_no_criterion_met_falls_back_with_an_explanation():
    result = services.assess({"system_type": "industrial_control"}, regime="ND85_2016")
    assert result.fallback and result.level == 1 and result.deciding is None and result.met == ()
    assert "floor" in result.explanation_en and "mức sàn" in result.explanation_vi


def test_level_five_is_important_to_national_security_under_decree_331_only():
    facts = {"system_type": "shared_infrastructure", "infrastructure_scope": "international"}
    new = services.assess(facts, regime="ND331_2026")
    assert new.level == 5 and new.national_security_important
    assert "ND331-16.4" in {g.id for f in new.flags for g in f.grounds}
    old = services.assess(facts, regime="ND85_2016")
    assert old.level == 5 and not old.national_security_important
    assert next(f for f in old.flags if f.code == "national_important").value
    level4 = services.assess({"security_harm": "serious"}, regime="ND331_2026")
    assert level4.level == 4 and not level4.national_security_important
    assert any(n.code == "manual_review:national_security_important" for n in level4.notes)


def test_state_secrets_are_at_least_level_three_and_harm_decides_above():
    for harm, level in [("none", 3), ("harm", 3), ("serious", 4), ("especially_serious", 5)]:
        facts = {"information_classes": ["state_secret"], "security_harm": harm}
        assert services.assess(facts, regime="ND331_2026").level == level


def test_nationwide_infrastructure_needs_24x7_for_level_four():
    base = {"system_type": "shared_infrastructure", "infrastructure_scope": "nationwide"}
    assert services.assess(base, regime="ND85_2016").level == 3
    assert services.assess({**base, "operates_24x7": True}, regime="ND85_2016").level == 4
    assert services.assess({**base, "operates_24x7": True}, regime="ND331_2026").level == 4


def test_decided_level_differs_between_the_decrees():
    assert services.assess({"decided_level": 3}, regime="ND331_2026").level == 3
    old = services.assess({"system_type": "other", "decided_level": 3}, regime="ND85_2016")
    assert old.fallback and any(n.code == "decided_level_unused" for n in old.notes)
    assert services.assess({"decided_level": 5}, regime="ND85_2016").deciding.id == "ND85-11.5"


def test_facts_of_another_regime_or_system_type_earn_a_note():
    result = services.assess({**SERVICE, "users_with_private_data": 200_000}, regime="ND331_2026")
    assert result.level == 2
    assert any(n.code == "fact_not_read:users_with_private_data" for n in result.notes)
    other = services.assess({"system_type": "internal", "construction_grade": "I"}, regime="ND85_2016")
    assert other.level == 1
    assert any(n.code == "fact_not_applicable:construction_grade" for n in other.notes)


def test_resolving_administrative_procedures_is_level_three_under_decree_331_only():
    facts = {"system_type": "citizen_service", "resolves_administrative_procedures": True}
    assert services.assess(facts, regime="ND331_2026").level == 3
    assert services.assess(facts, regime="ND85_2016").level == 2


def test_regime_in_force_switches_on_19_august_2026():
    assert services.regime_in_force(dt.date(2026, 8, 18)).code == "ND85_2016"
    assert services.regime_in_force(dt.date(2026, 8, 19)).code == "ND331_2026"
    assert services.regime_in_force(dt.date(2016, 7, 1)).code == "ND85_2016"
    with pytest.raises(NoRegimeInForce):
        services.regime_in_force(dt.date(2016, 6, 30))
    facts = {**SERVICE, "users_with_private_data": 20_000}
    assert services.assess(facts, on=dt.date(2026, 8, 18)).regime == "ND85_2016"
    assert services.assess(facts, on=dt.date(2026, 8, 19)).regime == "ND331_2026"


def test_unknown_regime_is_a_lookup_error():
    with pytest.raises(UnknownRegime, match="ND99"):
        services.assess({}, regime="ND99")


@pytest.mark.parametrize(
    ("facts", "path", "fragment"),
    [
        ([], "facts", "object"),
        ({"user_with_private_data": 1}, "facts.user_with_private_data", "users_with_private_data"),
        ({"users_with_private_data": -1}, "facts.users_with_private_data", "whole number"),
        ({"users_with_private_data": 1.5}, "facts.users_with_private_data", "whole number"),
        ({"users_with_private_data": True}, "facts.users_with_private_data", "whole number"),
        ({"operates_24x7": "yes"}, "facts.operates_24x7", "true or false"),
        ({"system_type": "web"}, "facts.system_type", "internal"),
        ({"information_classes": "public"}, "facts.information_classes", "list"),
        ({"decided_level": 6}, "facts.decided_level", "null"),
        ({"components": [{"system_type": 3}]}, "facts.components[0].system_type", "one of"),
        ({"components": {}}, "facts.components", "list"),
        ({1: 2}, "facts", "text"),
    ],
)
def test_invalid_facts_name_the_path(facts, path, fragment):
    with pytest.raises(InvalidFacts) as info:
        services.assess(facts, regime="ND85_2016")
    assert info.value.path == path
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_component_nesting_and_count_are_bounded():
    deep: dict = {}
    for _ in range(6):
        deep = {"components": [deep]}
    with pytest.raises(InvalidFacts, match="nested"):
        services.assess(deep, regime="ND85_2016")
    with pytest.raises(InvalidFacts, match="too many"):
        services.assess({"components": [{}] * 300}, regime="ND85_2016")


def test_defaults_fill_in_and_lists_are_deduplicated():
    result = services.assess({"information_classes": ["private", "private"]}, regime="ND85_2016")
    assert result.facts["information_classes"] == ["private"]
    assert result.facts["system_type"] == "internal" and result.facts["components"] == []
    assert result.level == 2 and result.deciding.id == "ND85-8.1"


def test_explanation_in_both_languages_names_the_criterion_and_the_facts():
    result = services.assess({**SERVICE, "users_with_private_data": 12_000}, regime="ND85_2016")
    assert "ND85-9.2.c" in result.explanation_en and "ND85-9.2.c" in result.explanation_vi
    assert "users_with_private_data = 12,000" in result.explanation_en
    assert "users_with_private_data = 12.000" in result.explanation_vi
    assert "điểm c khoản 2 Điều 9 Nghị định 85/2016/NĐ-CP" in result.explanation_vi
    data = result.to_dict()
    assert data["deciding_criterion"]["id"] == "ND85-9.2.c"
    assert {"id": "ND85-8.2.b", "level": 2, "path": ""}.items() <= data["criteria_met"][0].items()


def test_unverified_criterion_marks_the_assessment():
    result = services.assess({"system_type": "other", "decided_level": 1}, regime="ND331_2026")
    assert result.deciding.id == "ND331-11.2" and result.unverified
    assert "not verified" in result.explanation_en


def test_invalid_facts_messages_follow_the_language():
    from django.utils import translation

    with translation.override("vi"), pytest.raises(InvalidFacts) as info:
        services.assess({"operates_24x7": 1}, regime="ND85_2016")
    assert info.value.message == "cần true hoặc false"
