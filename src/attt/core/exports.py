"""CSV export shared by the UI and the API: the rows come from the scoping layer, the event goes
to the audit log."""

import csv
from collections.abc import Callable, Iterable, Sequence

from django.db import models
from django.http import StreamingHttpResponse
from django.utils import timezone

from attt.core import audit
from attt.core.models import AuditEvent

Column = tuple[str, Callable[[object], object]]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Neutralise spreadsheet formulas (CSV injection) in values a user typed.
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + text
    return text


def csv_response(queryset: models.QuerySet, columns: Sequence[Column], name: str) -> StreamingHttpResponse:
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
        for obj in queryset.iterator(chunk_size=2000):
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
