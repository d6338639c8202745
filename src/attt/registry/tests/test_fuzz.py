"""Whatever bytes or rows arrive, the CSV importer answers with a report or ImportFileError, never a crash,
and writes nothing unless the report is clean."""

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attt.registry import services, transfer
from attt.registry.models import InformationSystem

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADERS = [c.name for c in transfer.COLUMNS] + ["Chủ quản", "Tên hệ thống", "junk", ""]
CELLS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["so-a", "tt-a", "so-b", "root", "public", "true", "có", "10.000", "-1", "9" * 30, "=1+1", "'=x"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
)


def _check(report_or_error) -> None:
    if isinstance(report_or_error, services.ImportReport):
        assert report_or_error.ok or not InformationSystem.objects.exists()
        for error in report_or_error.errors:
            assert error.row >= 1 and error.column and error.message


def _run(data: bytes, user):
    try:
        return services.import_systems(data, "csv", user)
    except transfer.ImportFileError as exc:
        assert str(exc)
        return exc


@pytest.mark.django_db
@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(tree_and_owner, data):
    _check(_run(data, tree_and_owner))


@pytest.mark.django_db
@FUZZ
@given(
    required=st.booleans(),
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=10),
    rows=st.lists(st.lists(CELLS, max_size=12), max_size=8),
    delimiter=st.sampled_from([",", ";"]),
)
def test_random_rows(tree_and_owner, required, header, rows, delimiter):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["owner", "code", "name", *header] if required else header)
    writer.writerows(rows)
    result = _run(buffer.getvalue().encode("utf-8"), tree_and_owner)
    _check(result)
    InformationSystem.objects.filter(parent_system__isnull=False).delete()
    InformationSystem.objects.all().delete()


def test_a_nul_character_is_a_row_error(tree_and_owner):
    result = _run("owner,code,name\nso-a,HT-NUL,Hệ\x00thống\n".encode(), tree_and_owner)
    assert (2, "name", "A NUL character.") in [(e.row, e.column, e.message) for e in result.errors]
    assert not InformationSystem.objects.filter(code="HT-NUL").exists()
