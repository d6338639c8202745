import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; pages still follow each request's language."""
    with translation.override("en"):
        yield
