"""CSV export shared by the UI and the API: the rows come from the scoping layer, the event goes
to the audit log."""

import csv
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from django.db import models
from django.http import StreamingHttpResponse
from django.utils import timezone

from attt.core import audit
from attt.core.models import AuditEvent

Column = tuple[str, Callable[[object], object]]
PREPARED_RUN = 500  # records read and prepared at a time


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Neutralise spreadsheet formulas (CSV injection) in values a user typed.
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + text
    return text


def csv_response(
    queryset: models.QuerySet,
    columns: Sequence[Column],
    name: str,
    *,
    prepare: Callable[[list], Iterable] | None = None,
) -> StreamingHttpResponse:
    """The rows as CSV, streamed. `prepare`: turns each run of records into what the columns read (the API
    serialises a run at once: once per cell made an export of 10⁴ rows outlast the server's request timeout)."""
    audit.record(
        AuditEvent.Action.EXPORT,
        object_type=queryset.model._meta.label_lower,
        object_repr=f"{name}.csv",
        changes={"rows": queryset.count()},
    )
    writer = csv.writer(_Echo())

    def rows() -> Iterable[str]:
        yield "\ufeff"  # BOM so spreadsheet programs read the Vietnamese text as UTF-8
        yield writer.writerow([header for header, _ in columns])
        records = queryset.iterator(chunk_size=PREPARED_RUN)
        for run in iter(lambda: list(islice(records, PREPARED_RUN)), []):
            for obj in run if prepare is None else prepare(run):
                yield writer.writerow([_cell(get(obj)) for _, get in columns])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def attribute(path: str) -> Callable[[object], object]:
    """An accessor for 'a__b' paths, showing choice labels where the field has choices."""

    def get(obj: object) -> object:
        for part in path.split("__"):
            if obj is None:
                return None
            display = getattr(obj, f"get_{part}_display", None)
            obj = display() if callable(display) else getattr(obj, part, None)
        return obj

    return get
