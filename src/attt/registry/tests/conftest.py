import pytest
from django.utils import translation

from attt.core.testing import make_user
from attt.registry.tests import factories  # noqa: F401  (registers the matrix factories)


@pytest.fixture(autouse=True)
def english():
    """Messages in English whatever the platform's default (Vietnamese) or an earlier request left active."""
    with translation.override("en"):
        yield


@pytest.fixture
def owner(tree):
    """A system owner's officer on dept_a (holds registry.* there, including import)."""
    return make_user(tree.dept_a, "system_owner", username="owner-a")


@pytest.fixture
def tree_and_owner(tree):
    """For hypothesis tests: the tree is built once per test function, the owner reused by every example."""
    return make_user(tree.dept_a, "system_owner", username="fuzz-owner")
