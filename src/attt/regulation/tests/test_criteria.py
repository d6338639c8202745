"""Every criterion of every regime, checked through the engine with the examples its data carries."""

import pytest

from attt.regulation import services
from attt.regulation.loader import catalogue


def _cases(kind: str):
    for regime in catalogue().regimes:
        for criterion in regime.criteria:
            examples = criterion.examples_meet if kind == "meet" else criterion.examples_fail
            for i, facts in enumerate(examples):
                yield pytest.param(regime.code, criterion.id, facts, id=f"{criterion.id}-{kind}{i}")


def _flag_cases(kind: str):
    for regime in catalogue().regimes:
        for flag in regime.flags:
            for ground in flag.criteria:
                examples = ground.examples_meet if kind == "meet" else ground.examples_fail
                for i, facts in enumerate(examples):
                    yield pytest.param(regime.code, flag.code, ground.id, facts, id=f"{ground.id}-{kind}{i}")


@pytest.mark.parametrize(("regime", "criterion_id", "facts"), list(_cases("meet")))
def test_positive_example_reaches_the_criterion(regime, criterion_id, facts):
    criterion = next(c for c in services.criteria(regime) if c.id == criterion_id)
    result = services.assess(facts, regime=regime)
    assert criterion in result.met, result.explanation_en
    assert result.level >= criterion.level
    assert result.deciding is not None and result.deciding.level == result.level


@pytest.mark.parametrize(("regime", "criterion_id", "facts"), list(_cases("fail")))
def test_negative_example_misses_the_criterion(regime, criterion_id, facts):
    result = services.assess(facts, regime=regime)
    assert criterion_id not in {c.id for c in result.met}, result.explanation_en


@pytest.mark.parametrize(("regime", "flag", "ground", "facts"), list(_flag_cases("meet")))
def test_flag_example_raises_the_flag(regime, flag, ground, facts):
    result = services.assess(facts, regime=regime)
    found = next(f for f in result.flags if f.code == flag)
    assert found.value and ground in {g.id for g in found.grounds}


@pytest.mark.parametrize(("regime", "flag", "ground", "facts"), list(_flag_cases("fail")))
def test_flag_counter_example_leaves_the_flag_down(regime, flag, ground, facts):
    result = services.assess(facts, regime=regime)
    assert not next(f for f in result.flags if f.code == flag).value


def test_every_criterion_has_a_positive_example_and_each_level_is_covered():
    for regime in catalogue().regimes:
        assert {c.level for c in regime.criteria} == {1, 2, 3, 4, 5}
        for criterion in regime.criteria:
            assert criterion.examples_meet, criterion.id


def test_the_criteria_are_those_of_the_decrees():
    nd85 = [c.id for c in services.criteria("ND85_2016")]
    assert nd85 == [
        "ND85-7", "ND85-8.1", "ND85-8.2.a", "ND85-8.2.b", "ND85-8.2.c", "ND85-8.3",
        "ND85-9.1", "ND85-9.2.a", "ND85-9.2.b", "ND85-9.2.c", "ND85-9.3", "ND85-9.4",
        "ND85-10.1", "ND85-10.2", "ND85-10.3", "ND85-10.4",
        "ND85-11.1", "ND85-11.2", "ND85-11.3", "ND85-11.4", "ND85-11.5",
    ]  # fmt: skip
    nd331 = [c.id for c in services.criteria("ND331_2026")]
    assert nd331 == [
        "ND331-11.1", "ND331-11.2",
        "ND331-12.1", "ND331-12.2.a", "ND331-12.2.b", "ND331-12.3", "ND331-12.4",
        "ND331-13.1", "ND331-13.2.a", "ND331-13.2.b", "ND331-13.2.c", "ND331-13.3", "ND331-13.4", "ND331-13.5",
        "ND331-14.1", "ND331-14.2", "ND331-14.3", "ND331-14.4",
        "ND331-15.1", "ND331-15.2", "ND331-15.3", "ND331-15.4", "ND331-15.5",
    ]  # fmt: skip
    for c in services.criteria("ND331_2026"):
        assert c.legal_basis[0].instrument.code == "ND331_2026"
        assert c.level == {11: 1, 12: 2, 13: 3, 14: 4, 15: 5}[c.legal_basis[0].article]
