"""Properties over random facts: the engine is total, consistent and deterministic; on junk it fails
only with InvalidFacts."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.regulation import services
from attt.regulation.errors import InvalidFacts
from attt.regulation.loader import catalogue

FACTS = {n: f for n, f in catalogue().facts.items() if f.type != "components"}
REGIMES = [r.code for r in catalogue().regimes]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _value(fact):
    if fact.type == "enum":
        return st.sampled_from(fact.values)
    if fact.type == "list":
        return st.lists(st.sampled_from(fact.values), max_size=4)
    if fact.type == "bool":
        return st.booleans()
    # Numbers: mostly around the legal thresholds, sometimes anywhere in range.
    near = [v + d for v in (0, 1, 2, 3, 4, 5, 10_000, 100_000) for d in (-1, 0, 1)]
    numbers = st.one_of(
        st.sampled_from([n for n in near if fact.min <= n <= fact.max]),
        st.integers(min_value=fact.min, max_value=fact.max),
    )
    return st.one_of(st.none(), numbers) if fact.nullable else numbers


def _facts(depth: int = 0):
    scalar = st.fixed_dictionaries({}, optional={name: _value(f) for name, f in FACTS.items()})
    if depth >= 2:
        return scalar
    return st.builds(
        lambda base, comps: {**base, **({"components": comps} if comps else {})},
        scalar,
        st.lists(_facts(depth + 1), max_size=3),
    )


@SETTINGS
@given(facts=_facts(), regime=st.sampled_from(REGIMES))
def test_assessment_is_consistent(facts, regime):
    result = services.assess(facts, regime=regime)
    assert 1 <= result.level <= 5
    met = result.all_met()
    assert all(c.level <= result.level for _, c in met), "no met criterion may be above the result"
    if result.deciding is None:
        assert result.fallback
        assert all(c.fallback for c in result.components) and not result.met
    else:
        assert not result.fallback
        assert result.deciding.level == result.level == max(c.level for _, c in met)
        assert (result.deciding_path, result.deciding) in [(p, c) for p, c in met]
    assert result.level >= max((c.level for c in result.components), default=1)
    again = services.assess(facts, regime=regime)
    assert again.to_dict() == result.to_dict(), "the assessment is deterministic"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
KEYS = st.one_of(st.sampled_from([*FACTS, "components"]), st.text(max_size=12))


@SETTINGS
@given(
    junk=st.one_of(
        JSONISH,
        st.dictionaries(KEYS, JSONISH, max_size=6),
        st.dictionaries(st.sampled_from([*FACTS, "components"]), JSONISH, max_size=6),
    ),
    regime=st.sampled_from(REGIMES),
)
def test_random_input_assesses_or_raises_the_clear_error(junk, regime):
    try:
        result = services.assess(junk, regime=regime)
    except InvalidFacts as exc:
        assert exc.path.startswith("facts") and exc.message
        assert str(exc).startswith(exc.path)
    else:
        assert 1 <= result.level <= 5
