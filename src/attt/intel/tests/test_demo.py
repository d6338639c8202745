import io
import random

from attt.core import demo
from attt.intel import demo_data
from attt.intel.models import Collection, CollectionGrant, Indicator, StixObject


def test_demo_loader(tree):
    ctx = demo.DemoContext(rng=random.Random(7), scale=0.1, progress=lambda _m: None, stdout=io.StringIO())
    result = demo_data.load(ctx)
    assert result["collections"] == 3  # the root and the two provinces of the test tree
    assert Collection.objects.get(alias="national").organization == tree.root
    assert CollectionGrant.objects.filter(grantee=tree.root, max_tlp="amber").count() == 2
    assert Indicator.objects.count() > 100
    values = Indicator.objects.values_list("kind", "value")
    assert all(v.startswith(("192.0.2.", "198.51.100.", "203.0.113.")) for k, v in values if k == "ipv4")
    assert all(
        v.endswith((".example.com", ".example.net", ".example.org", ".invalid")) for k, v in values if k == "domain"
    )
    assert StixObject.objects.filter(type="report").count() == 3
