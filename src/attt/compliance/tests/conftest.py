import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    """Assertions read messages in English, whatever the platform's default (Vietnamese)."""
    with translation.override("en"):
        yield
