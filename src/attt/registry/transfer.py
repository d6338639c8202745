"""Import and export of information systems as CSV or XLSX, one row per system.

Ministries and provinces keep their inventories in spreadsheets; this is how they reach the registry.
An import is all-or-nothing: every row is checked first (owner and operator within the importer's
scope, values, references), every bad row is reported, and nothing is written unless the whole file
is valid. Rows are matched to existing systems by (owner code, system code), so importing the same
file twice changes nothing. Use `services.import_systems` / `services.export_systems`.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import translation
from django.utils.translation import gettext as _

from attt.core import audit, scoping, workbooks
from attt.core.exports import _cell as neutralise
from attt.core.models import AuditEvent, Organization
from attt.registry.models import (
    ConstructionGrade,
    Hosting,
    InformationClass,
    InformationSystem,
    InfrastructureScope,
    LifecycleStatus,
    NetworkZone,
    PrioritySector,
    SecurityHarm,
    StateSecretGrade,
    SystemType,
    default_regime,
)

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_COLUMNS = 200
FORMATS = ("csv", "xlsx")
IMPORT_PERMISSION = "registry.informationsystem.import"
VIEW_PERMISSION = "registry.informationsystem.view"


class ImportFileError(ValueError):
    """The whole file is refused (too large, too many rows, not UTF-8, not a workbook); the message says why."""


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str


@dataclass
class ImportReport:
    """What an import did, or would do on a dry run, and every bad row."""

    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "written": self.written,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "bad_rows": self.bad_rows,
            "errors": [asdict(e) for e in self.errors],
        }


# --- Columns ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the file: its name, how its cells are read, and the headers accepted for it."""

    name: str
    kind: str  # text, slug, int, bool, choice, choices, level, org, parent
    aliases: tuple[str, ...] = ()
    choices: type[models.TextChoices] | None = None

    @property
    def field(self) -> str:
        return {"owner": "organization"}.get(self.name, self.name)


COLUMNS: tuple[Column, ...] = (
    Column("owner", "org", ("Chủ quản", "Mã chủ quản", "Đơn vị chủ quản")),
    Column("code", "slug", ("Mã hệ thống", "Mã")),
    Column("name", "text", ("Tên hệ thống", "Tên")),
    Column("description", "text", ("Mô tả", "Mục đích", "Mô tả và mục đích")),
    Column("operator", "org", ("Đơn vị vận hành", "Mã đơn vị vận hành")),
    Column("parent_system", "parent", ("Thuộc hệ thống", "Hệ thống cha")),
    Column("lifecycle_status", "choice", ("Trạng thái",), LifecycleStatus),
    Column("regime", "text", ("Chế độ pháp lý", "Nghị định")),
    Column("system_type", "choice", ("Loại hệ thống",), SystemType),
    Column("information_classes", "choices", ("Loại thông tin", "Phân loại thông tin"), InformationClass),
    Column("state_secret_grade", "choice", ("Độ mật",), StateSecretGrade),
    Column("security_harm", "choice", ("Mức tổn hại quốc phòng, an ninh",), SecurityHarm),
    Column("user_count", "int", ("Số người dùng",)),
    Column("users_with_private_data", "int", ("Số người dùng có thông tin riêng, cá nhân",)),
    Column("data_subjects_basic", "int", ("Số chủ thể dữ liệu cá nhân cơ bản",)),
    Column("data_subjects_sensitive", "int", ("Số chủ thể dữ liệu cá nhân nhạy cảm",)),
    Column("online_public_service_level", "int", ("Mức độ dịch vụ công trực tuyến",)),
    Column("resolves_administrative_procedures", "bool", ("Giải quyết thủ tục hành chính",)),
    Column("conditional_business_line", "bool", ("Ngành nghề kinh doanh có điều kiện",)),
    Column("infrastructure_scope", "choice", ("Phạm vi hạ tầng",), InfrastructureScope),
    Column("operates_24x7", "bool", ("Vận hành 24/7",)),
    Column("national_egovernment", "bool", ("Chính phủ điện tử quốc gia",)),
    Column("construction_grade", "choice", ("Cấp công trình",), ConstructionGrade),
    Column("central_national_data", "bool", ("Dữ liệu quốc gia tập trung",)),
    Column("decided_level", "level", ("Cấp độ được quyết định", "Cấp độ quyết định")),
    Column("hosting", "choice", ("Nơi đặt hệ thống", "Hạ tầng"), Hosting),
    Column("hosting_provider", "text", ("Nhà cung cấp hạ tầng",)),
    Column("internet_facing", "bool", ("Kết nối Internet",)),
    Column("network_zones", "choices", ("Vùng mạng",), NetworkZone),
    Column("priority_sector", "choice", ("Lĩnh vực ưu tiên",), PrioritySector),
    Column("national_important", "bool", ("Hệ thống thông tin quan trọng quốc gia",)),
    Column("national_security_important", "bool", ("Quan trọng về an ninh quốc gia",)),
)
REQUIRED = ("owner", "code")


def normalise(text: object) -> str:
    """A header or code reduced to ASCII snake case, so 'Chủ quản' and 'chu_quan' are the same."""
    value = unicodedata.normalize("NFKD", str(text).replace("đ", "d").replace("Đ", "D"))
    value = "".join(ch for ch in value if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", value).strip("_")


def _header_map() -> dict[str, Column]:
    mapping = {}
    for column in COLUMNS:
        for alias in (column.name, *column.aliases):
            mapping[normalise(alias)] = column
    return mapping


HEADERS = _header_map()

_EXTRA_ALIASES = {
    StateSecretGrade: {"mat": "confidential", "toi_mat": "secret", "tuyet_mat": "top_secret", "khong": "none"},
    ConstructionGrade: {"cap_iv": "IV", "cap_iii": "III", "cap_ii": "II", "cap_i": "I", "dac_biet": "special"},
}
_choice_maps: dict[type, dict[str, str]] = {}


def _choice_map(choices: type[models.TextChoices]) -> dict[str, str]:
    """Codes, English and Vietnamese labels, all normalised, to the stored code."""
    if choices not in _choice_maps:
        mapping = {}
        for language in ("en", "vi"):
            with translation.override(language):
                mapping.update({normalise(label): value for value, label in choices.choices})
        mapping.update(_EXTRA_ALIASES.get(choices, {}))
        mapping.update({normalise(value): value for value in choices.values})
        _choice_maps[choices] = mapping
    return _choice_maps[choices]


# --- Reading cells ----------------------------------------------------------------------------------------

TRUE = {"true", "1", "yes", "y", "x", "co", "dung"}
FALSE = {"false", "0", "no", "n", "khong", "sai", ""}
_GROUPED = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+")


def _bool(text: str) -> bool:
    value = normalise(text)
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(_("Expected yes or no (true/false, 1/0, có/không)."))


def _int(text: str, low: int = 0, high: int = 2_000_000_000) -> int:
    value = text.strip()
    if _GROUPED.fullmatch(value):
        value = re.sub(r"[.,\s]", "", value)
    if not value.isascii() or not value.lstrip("-").isdigit() or len(value) > 12:
        raise ValueError(_("Expected a whole number."))
    number = int(value)
    if not low <= number <= high:
        raise ValueError(_("Expected a number from %(low)s to %(high)s.") % {"low": low, "high": high})
    return number


def _choice(text: str, choices: type[models.TextChoices]) -> str:
    code = _choice_map(choices).get(normalise(text))
    if code is None:
        raise ValueError(
            _("Unknown value '%(value)s'; expected one of: %(allowed)s.")
            % {"value": text[:60], "allowed": ", ".join(choices.values)}
        )
    return code


def _choice_list(text: str, choices: type[models.TextChoices]) -> list[str]:
    codes: list[str] = []
    for item in re.split(r"[,;|\n]", text):
        if item.strip():
            code = _choice(item, choices)
            if code not in codes:
                codes.append(code)
    return codes


def guard(value: object) -> str:
    """core's formula guard (a quote before a leading '=', '+', '-', '@', tab, CR), applied past the text's own
    leading quotes: "'=x" is written "''=x", so `unneutralise` gives every text back whole."""
    text = "" if value is None else str(value)
    quotes = len(text) - len(text.lstrip("'"))
    return text[:quotes] + neutralise(text[quotes:])


def unneutralise(text: str) -> str:
    """Undo the quote an export puts before a leading '=', '+', '-', '@' (spreadsheet formula guard)."""
    rest = text.lstrip("'")
    if rest != text and neutralise(rest) != rest:
        return text[1:]
    return text


# --- Reading files ----------------------------------------------------------------------------------------


def _read_bytes(file) -> bytes:
    if isinstance(file, bytes | bytearray | memoryview):
        data = bytes(file)
    else:
        size = getattr(file, "size", None)
        if size is not None and size > MAX_BYTES:
            raise ImportFileError(_too_large())
        data = file.read(MAX_BYTES + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise ImportFileError(_too_large())
    return data


def _too_large() -> str:
    return _("The file is larger than %(mb)s MB: split it into several files.") % {"mb": MAX_BYTES // (1024 * 1024)}


def _too_many_rows() -> str:
    return _("The file has more than %(rows)s rows: split it into several files.") % {"rows": f"{MAX_ROWS:,}"}


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not UTF-8 text (byte %(position)s): save it as 'CSV UTF-8' and try again.")
            % {"position": exc.start + 1}
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise ImportFileError(
            _("The CSV file cannot be read near line %(line)s: %(reason)s") % {"line": reader.line_num, "reason": exc}
        ) from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The rows of the first sheet with their numbers; the row limit counts blank rows too (and the header)."""
    try:
        with workbooks.open_workbook(data, max_bytes=MAX_BYTES) as book:
            if not book.worksheets:
                return
            for number, values in workbooks.sheet_rows(
                book.worksheets[0], max_rows=MAX_ROWS + 1, max_columns=MAX_COLUMNS
            ):
                yield number, [workbooks.cell_text(v) for v in values]
    except workbooks.TooManyRows as exc:
        raise ImportFileError(
            _(
                "The file has more than %(rows)s rows (blank rows below the table count too): delete them or "
                "split the file into several files."
            )
            % {"rows": f"{MAX_ROWS:,}"}
        ) from exc
    except workbooks.WorkbookError as exc:
        raise ImportFileError(str(exc)) from exc


def read_table(data: bytes, fmt: str) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header's row number, the header, and the non-blank data rows with their row numbers (as a
    spreadsheet numbers them) of a CSV or XLSX file."""
    if fmt not in FORMATS:
        raise ImportFileError(_("Unknown format '%(format)s': use CSV or XLSX.") % {"format": str(fmt)[:20]})
    rows = enumerate(_csv_rows(data), start=1) if fmt == "csv" else _xlsx_rows(data)
    header: list[str] | None = None
    header_row = 0
    body: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if header is None:
            if any(c.strip() for c in cells):
                header, header_row = cells[:MAX_COLUMNS], number
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(body) >= MAX_ROWS:
            raise ImportFileError(_too_many_rows())
        body.append((number, cells))
    if header is None:
        raise ImportFileError(_("The file is empty: the first row must name the columns."))
    return header_row, header, body


def detect_format(filename: str, data: bytes = b"") -> str:
    """'xlsx' or 'csv', from the file name, else from the content (an XLSX file is a ZIP archive)."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".csv", ".txt")):
        return "csv"
    return "xlsx" if data[:4] == b"PK\x03\x04" else "csv"


# --- Import -----------------------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    system: InformationSystem
    is_new: bool
    before: dict
    parent_code: str | None = None  # None: the file has no parent column


def _snapshot(system: InformationSystem) -> dict:
    return {f.attname: getattr(system, f.attname) for f in system._meta.concrete_fields if f.name != "updated_at"}


class _Importer:
    def __init__(self, user, dry_run: bool):
        self.user = user
        self.report = ImportReport(dry_run=dry_run)
        self.add_permission = "registry.informationsystem.add"

    def error(self, row: int, column: str, message: str) -> None:
        self.report.errors.append(RowError(row, column, str(message)))

    # Header ---------------------------------------------------------------------------------------------

    def map_header(self, header_row: int, header: list[str]) -> list[Column | None]:
        columns: list[Column | None] = []
        seen: set[str] = set()
        for text in header:
            text = text.strip()
            if not text:
                columns.append(None)
                continue
            column = HEADERS.get(normalise(text))
            if column is None:
                self.error(header_row, text[:60], _("Unknown column (see the list of columns in the documentation)."))
            elif column.name in seen:
                self.error(header_row, text[:60], _("This column appears twice."))
                column = None
            else:
                seen.add(column.name)
            columns.append(column)
        for name in REQUIRED:
            if name not in seen:
                self.error(header_row, name, _("Required column missing."))
        return columns

    # Organisations --------------------------------------------------------------------------------------

    def load_organisations(self, codes: set[str]) -> None:
        """The organisations named in the file (codes compared without case), and which of them are visible."""
        named = Organization.objects.annotate(code_lower=Lower("code")).filter(code_lower__in=codes)
        self.orgs = {o.code_lower: o for o in named.select_related("merged_into")}
        self.visible_orgs = set(scoping.visible(self.user, named).values_list("pk", flat=True))

    def organisation(self, code: str, permission: str = "") -> Organization:
        """The organisation `code` in the importer's scope (and where they hold `permission`, if given)."""
        org = self.orgs.get(code)
        if (
            org is None
            or org.pk not in self.visible_orgs
            or (permission and not scoping.can_in(self.user, permission, org))
        ):
            raise ValueError(_("No organisation with code '%(code)s' in your scope.") % {"code": code[:64]})
        if not org.is_active:
            raise ValueError(
                _("The organisation '%(code)s' was merged or dissolved%(into)s.")
                % {"code": code, "into": f" → {org.merged_into.code}" if org.merged_into else ""}
            )
        return org

    # Rows -----------------------------------------------------------------------------------------------

    def run(self, header_row: int, header: list[str], body: list[tuple[int, list[str]]]) -> list[_Row]:
        columns = self.map_header(header_row, header)
        if any(e.column in REQUIRED and e.row == header_row for e in self.report.errors):
            return []
        records = []
        for number, cells in body:
            values: dict[str, str] = {}
            for index, text in enumerate(cells[:MAX_COLUMNS]):
                column = columns[index] if index < len(columns) else None
                if column is not None and isinstance(text, workbooks.FormulaWithoutResult):
                    self.error(number, column.name, text.message())
                elif "\x00" in text:  # no database column can keep it (PostgreSQL refuses the whole statement)
                    self.error(number, column.name if column is not None else f"#{index + 1}", _("A NUL character."))
                elif column is not None:
                    values[column.name] = unneutralise(text.strip())
                elif text.strip() and index >= len(columns):
                    self.error(number, f"#{index + 1}", _("A value outside the named columns."))
            records.append((number, values))
        self.report.rows = len(records)
        present = {c.name for c in columns if c is not None}

        codes = {normalise_code(v.get(n, "")) for _n, v in records for n in ("owner", "operator")} - {""}
        self.load_organisations(codes)
        owners = [self.orgs[c] for c in {normalise_code(v.get("owner", "")) for _n, v in records} if c in self.orgs]
        system_codes = {v.get("code", "").strip() for _n, v in records}
        self.existing = {
            (s.organization_id, s.code): s
            for s in InformationSystem.objects.filter(organization__in=owners, code__in=system_codes).select_related(
                "organization", "operator"
            )
        }
        planned: list[_Row] = []
        keys: dict[tuple[str, str], int] = {}
        for number, values in records:
            row = self.read_row(number, values, present, keys)
            if row is not None:
                planned.append(row)
        self.resolve_parents(planned, present)
        self.check_changes(planned)
        return planned

    def read_row(self, number: int, values: dict[str, str], present: set[str], keys: dict) -> _Row | None:
        bad = len(self.report.errors)
        owner_code, code = normalise_code(values.get("owner", "")), values.get("code", "").strip()
        owner = None
        if not owner_code:
            self.error(number, "owner", _("Required."))
        else:
            try:
                # an owner whose systems one may not see answers as one outside the scope: the answers to
                # its rows ("unchanged", "may not add") would tell its systems' codes and values
                owner = self.organisation(owner_code, VIEW_PERMISSION)
            except ValueError as exc:
                self.error(number, "owner", exc)
        if not code:
            self.error(number, "code", _("Required."))
        if owner is None or not code:
            return None
        key = (owner.pk, code)
        if key in keys:
            self.error(number, "code", _("Same owner and code as row %(row)s.") % {"row": keys[key]})
            return None
        keys[key] = number
        system = self.existing.get(key)
        is_new = system is None
        if is_new:
            if not scoping.can_in(self.user, self.add_permission, owner):
                self.error(number, "owner", _("You may not add systems to '%(code)s'.") % {"code": owner.code})
                return None
            system = InformationSystem(organization=owner, code=code, regime=default_regime())
            if "name" not in values or not values["name"]:
                self.error(number, "name", _("Required for a new system."))
        before = {} if is_new else _snapshot(system)

        for column in COLUMNS:
            if column.name not in present or column.kind in {"parent"} or column.name in REQUIRED:
                continue
            text = values.get(column.name, "")
            try:
                self.apply(system, column, text)
            except ValueError as exc:
                self.error(number, column.name, exc)
            except ValidationError as exc:
                for message in exc.messages:
                    self.error(number, column.name, message)
        try:
            system.full_clean(
                exclude=["organization", "operator", "parent_system"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            reported = {(e.row, e.column) for e in self.report.errors[bad:]}
            for name, messages in exc.message_dict.items():
                column = "owner" if name == "organization" else name
                if (number, column) in reported:
                    continue
                for message in messages:
                    self.error(number, column if column in present or column in REQUIRED else name, message)
        parent = values.get("parent_system", "").strip() if "parent_system" in present else None
        return _Row(number, system, is_new, before, parent)

    def check_changes(self, planned: list[_Row]) -> None:
        """Changing an existing system needs the change permission on it; an unchanged row needs none."""
        for row in planned:
            if (
                not row.is_new
                and _snapshot(row.system) != row.before
                and not scoping.can(self.user, "change", row.system)
            ):
                self.error(row.number, "code", _("You may not change this system."))

    def apply(self, system: InformationSystem, column: Column, text: str) -> None:
        if "\x00" in text:
            raise ValueError(_("The value contains a NUL character."))
        model_field = system._meta.get_field(column.field)
        if column.kind == "org":
            current = getattr(system, column.field)
            if current is not None and normalise_code(text) == current.code.lower():
                return  # the system's own operator stays, even one outside the importer's scope or dissolved since
            setattr(system, column.field, self.organisation(normalise_code(text)) if text else None)
        elif column.kind == "bool":
            setattr(system, column.field, _bool(text))
        elif column.kind == "int":
            setattr(system, column.field, _int(text) if text else model_field.get_default())
        elif column.kind == "level":
            setattr(system, column.field, _int(text, 1, 5) if text else None)
        elif column.kind == "choice":
            setattr(system, column.field, _choice(text, column.choices) if text else model_field.get_default())
        elif column.kind == "choices":
            setattr(system, column.field, _choice_list(text, column.choices) or model_field.get_default())
        elif column.name == "regime":
            if text or system._state.adding:
                system.regime = text or default_regime()
        else:
            setattr(system, column.field, text)

    def resolve_parents(self, planned: list[_Row], present: set[str]) -> None:
        if "parent_system" not in present:
            return
        in_file = {(r.system.organization_id, r.system.code): r.system for r in planned}
        wanted = {r.parent_code for r in planned if r.parent_code}
        in_db = {
            (s.organization_id, s.code): s
            for s in InformationSystem.objects.filter(
                code__in=wanted, organization_id__in={r.system.organization_id for r in planned}
            )
        }
        for row in planned:
            if not row.parent_code:
                row.system.parent_system = None
                continue
            key = (row.system.organization_id, row.parent_code)
            parent = in_file.get(key) or in_db.get(key)
            if parent is None:
                self.error(
                    row.number,
                    "parent_system",
                    _("No system with code '%(code)s' of the same owner.") % {"code": row.parent_code[:64]},
                )
            elif parent.pk == row.system.pk:
                self.error(row.number, "parent_system", _("A system cannot be part of itself."))
            else:
                row.system.parent_system = parent
        # A cycle can only close through systems of this file (the database holds none).
        by_pk = {r.system.pk: r for r in planned}
        for row in planned:
            seen, node = {row.system.pk}, row.system.parent_system
            while node is not None:
                if node.pk in seen:
                    self.error(row.number, "parent_system", _("This would make the system part of itself."))
                    break
                seen.add(node.pk)
                node = by_pk[node.pk].system.parent_system if node.pk in by_pk else node.parent_system


def normalise_code(text: str) -> str:
    return text.strip().lower()


def import_systems(file, fmt: str, user, dry_run: bool = False) -> ImportReport:
    """See services.import_systems."""
    if not scoping.get_scope(user).has_anywhere(IMPORT_PERMISSION):
        raise PermissionDenied(_("You may not import information systems."))
    data = _read_bytes(file)
    header_row, header, body = read_table(data, fmt)
    importer = _Importer(user, dry_run)
    planned = importer.run(header_row, header, body)
    report = importer.report
    changed = []
    for row in planned:
        if row.is_new:
            report.created += 1
            changed.append(row)
        elif _snapshot(row.system) != row.before:
            report.updated += 1
            changed.append(row)
        else:
            report.unchanged += 1
    if not report.ok or dry_run:
        return report
    with transaction.atomic():
        pending = {r.system.pk for r in changed if r.is_new}
        ordered, rest = [], list(changed)
        while rest:  # parents first, so a new composite exists before its parts refer to it
            ready = [r for r in rest if not r.system.parent_system or r.system.parent_system.pk not in pending]
            ready = ready or rest  # (cannot happen: cycles were refused above)
            for row in ready:
                pending.discard(row.system.pk)
            ordered += ready
            rest = [r for r in rest if r not in ready]
        for row in ordered:
            row.system.save()
        owners = {r.system.organization for r in changed}
        for owner in owners:
            audit.record(
                AuditEvent.Action.WORKFLOW,
                object_type=InformationSystem._meta.label_lower,
                object_repr=_("Import of information systems"),
                organization=owner,
                changes={
                    "step": "import",
                    "created": sum(1 for r in changed if r.is_new and r.system.organization_id == owner.pk),
                    "updated": sum(1 for r in changed if not r.is_new and r.system.organization_id == owner.pk),
                },
            )
    return report


# --- Export -----------------------------------------------------------------------------------------------


def _export_value(system: InformationSystem, column: Column) -> object:
    if column.name == "owner":
        return system.organization.code
    if column.name == "operator":
        return system.operator.code if system.operator_id else ""
    if column.name == "parent_system":
        return system.parent_system.code if system.parent_system_id else ""
    value = getattr(system, column.field)
    if column.kind == "bool":
        return "true" if value else "false"
    if column.kind == "choices":
        return ",".join(value or [])
    return "" if value is None else value


def export_rows(queryset: models.QuerySet) -> Iterable[list[object]]:
    systems = queryset.select_related("organization", "operator", "parent_system").order_by(
        "organization__code", "code"
    )
    for system in systems.iterator(chunk_size=2000):
        yield [_export_value(system, column) for column in COLUMNS]


def export_systems(queryset: models.QuerySet, fmt: str) -> bytes:
    """See services.export_systems."""
    if fmt not in FORMATS:
        raise ImportFileError(_("Unknown format '%(format)s': use CSV or XLSX.") % {"format": str(fmt)[:20]})
    header = [c.name for c in COLUMNS]
    writer: Callable[[list[str], Iterable[list[object]]], bytes] = _write_csv if fmt == "csv" else _write_xlsx
    content = writer(header, export_rows(queryset))
    audit.record(
        AuditEvent.Action.EXPORT,
        object_type=InformationSystem._meta.label_lower,
        object_repr=f"informationsystem.{fmt}",
        changes={"rows": queryset.count()},
    )
    return content


def _write_csv(header: list[str], rows: Iterable[list[object]]) -> bytes:
    buffer = io.StringIO(newline="")
    buffer.write("\ufeff")  # so spreadsheet programs read the Vietnamese text as UTF-8
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([guard(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def _write_xlsx(header: list[str], rows: Iterable[list[object]]) -> bytes:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("systems")
    sheet.append(header)
    for row in rows:
        sheet.append(
            [value if isinstance(value, int) else ILLEGAL_CHARACTERS_RE.sub("", guard(value)) for value in row]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
