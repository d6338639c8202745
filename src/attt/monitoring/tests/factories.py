"""How the isolation matrix builds one event source in a given organisation."""

from itertools import count

from attt.core.testing import matrix_factory
from attt.monitoring.models import Source

_serial = count(1)


def make_source(organization, **fields) -> tuple[Source, str]:
    """A source and its token."""
    source = Source(organization=organization, **{"name": f"Nguồn sự kiện {next(_serial):04d}", **fields})
    token = source.new_token()
    source.save()
    return source, token


@matrix_factory(Source, change_payload={"description": "changed"})
def source_factory(organization) -> Source:
    return make_source(organization)[0]
