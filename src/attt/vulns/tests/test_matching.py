"""The bisecting index gives exactly the answer of scanning every criterion of the product."""

import random

from attt.vulns.feeds import Criterion
from attt.vulns.matching import ANY, NA, ComponentKey, CriteriaIndex

VERSIONS = ["1.0", "1.0.0", "1.1.1", "1.1.1k", "1.2-rc1", "2.0", "2.0.5", "2.10", "3", "10.0.19045"]


def test_lookup_equals_scan():
    rng = random.Random(3)
    index = CriteriaIndex()
    for n in range(600):
        lo, hi = sorted(rng.sample(VERSIONS, 2), key=lambda v: (len(v), v))
        bounds = ["", "", "", ""]
        shape = rng.random()
        version = ANY
        if shape < 0.3:
            bounds[rng.choice([0, 1])], bounds[rng.choice([2, 3])] = lo, hi
        elif shape < 0.5:
            bounds[rng.choice([0, 1, 2, 3])] = rng.choice(VERSIONS)
        elif shape < 0.7:
            version = rng.choice(VERSIONS)
        elif shape < 0.8:
            version = rng.choice([NA, "1.*", "2.?"])
        product = rng.choice(["p", "q"])
        extras = (rng.choice([ANY, "x64"]), *(ANY,) * 6)
        index.add(n, Criterion(f"cpe:{n}", "a", "v", product, version, extras, *bounds, True, 0, False))
    for version in [*VERSIONS, "", ANY, NA, "0.9", "99"]:
        for product in ("p", "q", "r"):
            for extras in ((ANY,) * 7, ("x86", *(ANY,) * 6)):
                key = ComponentKey("a", "v", product, version, extras, "cpe")
                assert {r.vuln_id for r in index.lookup(key)} == {r.vuln_id for r in index.scan(key)}
    index.discard({1, 2, 3})
    key = ComponentKey("a", "v", "p", "2.0", (ANY,) * 7, "cpe")
    assert {r.vuln_id for r in index.lookup(key)} == {r.vuln_id for r in index.scan(key)}


def test_may_match_cpe_only_rules_out_certain_unknown_products():
    from attt.vulns.feeds import Criterion
    from attt.vulns.matching import CriteriaIndex

    index = CriteriaIndex()
    index.add("v1", Criterion("cpe:2.3:a:apache:struts:*:*:*:*:*:*:*:*", "a", "apache", "struts", "*", ("*",) * 7))
    assert index.may_match_cpe("cpe:2.3:a:apache:struts:2.3.31:*:*:*:*:*:*:*")
    assert index.may_match_cpe("CPE:2.3:a:Apache:Struts:2.3.31:*:*:*:*:*:*:*".replace("CPE", "cpe"))
    assert not index.may_match_cpe("cpe:2.3:a:local:app:1.0:*:*:*:*:*:*:*")
    assert index.may_match_cpe("cpe:2.3:a:local:app")  # unparseable: key_of falls back, so not ruled out
    assert index.may_match_cpe("cpe:2.3:a:loc\\:al:app:1.0:*:*:*:*:*:*:*")  # quoted: left to the parser
