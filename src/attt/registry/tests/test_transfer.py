"""Import and export of systems: round trips, every bad row reported, all or nothing, scope, limits."""

import csv
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied

from attt.core.models import AuditEvent
from attt.core.services.organizations import merge
from attt.core.testing import make_user
from attt.registry import services, transfer
from attt.registry.models import InformationSystem
from attt.registry.tests.factories import make_system

HEADER = "owner,code,name,system_type,information_classes,users_with_private_data,internet_facing,decided_level\n"


def csv_bytes(text: str, *, bom: bool = False, encoding: str = "utf-8") -> bytes:
    return (("\ufeff" if bom else "") + text).encode(encoding)


def rows_of(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def snapshot() -> list[tuple]:
    fields = [f.attname for f in InformationSystem._meta.concrete_fields if f.name not in {"created_at", "updated_at"}]
    return sorted(InformationSystem.objects.values_list(*fields))


def portable() -> dict[tuple[str, str], dict]:
    """Every system's data keyed by (owner code, code), references by code: what survives new ids."""
    data = {}
    for system in InformationSystem.objects.select_related("organization", "operator", "parent_system"):
        values = {f.attname: getattr(system, f.attname) for f in InformationSystem._meta.concrete_fields}
        for name in ("id", "created_at", "updated_at", "parent_system_id"):
            values.pop(name)
        values["parent"] = system.parent_system.code if system.parent_system else None
        data[(system.organization.code, system.code)] = values
    return data


@pytest.fixture
def rich_systems(tree):
    """Systems using every kind of column, including a composite and awkward text."""
    parent = make_system(
        tree.dept_a,
        code="cong-dvc",
        name="Cổng dịch vụ công tỉnh A",
        description='Mô tả có dấu phẩy, "ngoặc kép"\nvà xuống dòng',
        operator=tree.operator_a,
        system_type="citizen_service",
        information_classes=["public", "private", "personal"],
        users_with_private_data=120_000,
        data_subjects_basic=120_000,
        online_public_service_level=4,
        resolves_administrative_procedures=True,
        hosting="data_centre",
        hosting_provider='=HYPERLINK("http://evil.invalid")',
        internet_facing=True,
        network_zones=["internal", "perimeter", "dmz", "database"],
        priority_sector="government_direction",
        decided_level=3,
        regime="ND85_2016",
    )
    make_system(tree.dept_a, code="mot-cua", name="Hệ thống một cửa điện tử", parent_system=parent)
    make_system(
        tree.operator_a,
        code="scada",
        name="-Hệ thống SCADA cấp nước",
        system_type="industrial_control",
        construction_grade="II",
        operates_24x7=True,
        lifecycle_status="upgrading",
        state_secret_grade="confidential",
        security_harm="harm",
        national_security_important=True,
    )
    make_system(tree.dept_b, code="khac", name="Hệ thống của tỉnh B")
    return parent


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_is_the_same_data(tree, national_admin, rich_systems, fmt):
    before = portable()
    data = services.export_systems(InformationSystem.objects.all(), fmt)
    InformationSystem.objects.filter(parent_system__isnull=False).delete()
    InformationSystem.objects.all().delete()
    report = services.import_systems(data, fmt, national_admin)
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert portable() == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_reimporting_an_export_changes_nothing(tree, national_admin, rich_systems, fmt):
    data = services.export_systems(InformationSystem.objects.all(), fmt)
    before = snapshot()
    report = services.import_systems(data, fmt, national_admin)
    assert report.ok and (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert snapshot() == before


def test_export_neutralises_formulas(tree, national_admin, rich_systems):
    rows = rows_of(services.export_systems(InformationSystem.objects.all(), "csv"))
    by_code = {r["code"]: r for r in rows}
    assert by_code["cong-dvc"]["hosting_provider"].startswith("'=")
    assert by_code["scada"]["name"].startswith("'-")
    workbook = openpyxl.load_workbook(io.BytesIO(services.export_systems(InformationSystem.objects.all(), "xlsx")))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert header == [c.name for c in transfer.COLUMNS]


def test_export_is_audited(tree, national_admin, rich_systems):
    services.export_systems(InformationSystem.objects.all(), "csv")
    event = AuditEvent.objects.filter(action="export").latest("seq")
    assert event.object_type == "registry.informationsystem" and event.changes == {"rows": 4}


def test_import_with_semicolons_bom_vietnamese_headers_and_labels(tree, owner):
    text = (
        "Chủ quản;Mã hệ thống;Tên hệ thống;Loại hệ thống;Loại thông tin;Độ mật;Vận hành 24/7;"
        "Số người dùng có thông tin riêng, cá nhân;Cấp độ quyết định;Vùng mạng\n"
        "SO-A;qlvb;Hệ thống quản lý văn bản;Internal operations;Public, Private;Không;có;"
        "12.000;;dmz|database\n"
    )
    report = services.import_systems(csv_bytes(text, bom=True), "csv", owner)
    assert report.ok, report.errors
    system = InformationSystem.objects.get(code="qlvb")
    assert system.organization == tree.dept_a
    assert system.information_classes == ["public", "private"]
    assert system.state_secret_grade == "none"
    assert system.operates_24x7 is True
    assert system.users_with_private_data == 12_000
    assert system.decided_level is None
    assert system.network_zones == ["dmz", "database"]


def test_every_bad_row_is_reported_and_nothing_is_written(tree, owner):
    text = HEADER + (
        "so-a,good,Tốt,internal,public,0,false,\n"  # row 2: fine
        "so-a,,Không mã,internal,public,0,false,\n"  # row 3: no code
        "so-a,bad-type,Sai loại,satellite,public,0,false,\n"  # row 4: unknown type
        "so-a,bad-class,Sai lớp,internal,public;topsecret,0,false,\n"  # row 5: unknown class
        "so-a,bad-number,Sai số,internal,public,nhiều,maybe,9\n"  # row 6: three bad cells
        "\n"  # blank lines are skipped
        "so-a,good,Trùng,internal,public,0,false,\n"  # row 8: duplicate of row 2
        "khong-co,x,Không có chủ quản,internal,public,0,false,\n"  # row 9: unknown owner
        "so-a,Bad Code!,Mã sai,internal,public,0,false,\n"  # row 10: not a slug
        "so-a,no-name,,internal,public,0,false,\n"  # row 11: no name for a new system
    )
    report = services.import_systems(csv_bytes(text), "csv", owner)
    assert not report.ok
    assert report.bad_rows == [3, 4, 5, 6, 8, 9, 10, 11]
    cells = {(e.row, e.column) for e in report.errors}
    assert {(6, "users_with_private_data"), (6, "internet_facing"), (6, "decided_level")} <= cells
    assert (4, "system_type") in cells and (5, "information_classes") in cells
    assert (9, "owner") in cells and (10, "code") in cells and (11, "name") in cells
    assert report.rows == 9
    assert not InformationSystem.objects.exists()


def test_a_single_bad_row_writes_nothing(tree, owner):
    make_system(tree.dept_a, code="existing", name="Trước")
    text = HEADER + "so-a,new,Mới,internal,public,0,false,\nso-a,existing,Sau,internal,public,-1,false,\n"
    report = services.import_systems(csv_bytes(text), "csv", owner)
    assert report.bad_rows == [3]
    assert not InformationSystem.objects.filter(code="new").exists()
    assert InformationSystem.objects.get(code="existing").name == "Trước"


def test_dry_run_reports_what_would_happen_and_writes_nothing(tree, owner):
    make_system(tree.dept_a, code="existing", name="Trước")
    text = HEADER + "so-a,new,Mới,internal,public,0,false,\nso-a,existing,Sau,internal,public,0,false,\n"
    report = services.import_systems(csv_bytes(text), "csv", owner, dry_run=True)
    assert report.ok and not report.written
    assert (report.created, report.updated) == (1, 1)
    assert not InformationSystem.objects.filter(code="new").exists()
    assert InformationSystem.objects.get(code="existing").name == "Trước"


def test_upsert_is_idempotent_and_audited(tree, owner):
    text = HEADER + "so-a,a,Hệ thống A,internal,public,0,false,\ntt-a,b,Hệ thống B,internal,public,0,true,2\n"
    first = services.import_systems(csv_bytes(text), "csv", owner)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    events = AuditEvent.objects.count()
    second = services.import_systems(csv_bytes(text), "csv", owner)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert AuditEvent.objects.count() == events  # nothing changed, nothing recorded
    third = services.import_systems(csv_bytes(text.replace("Hệ thống B", "Hệ thống B mới")), "csv", owner)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    assert InformationSystem.objects.get(code="b").name == "Hệ thống B mới"
    assert AuditEvent.objects.filter(action="update", object_type="registry.informationsystem").count() == 1
    assert AuditEvent.objects.filter(action="workflow", changes__step="import").count() == 3


def test_columns_not_in_the_file_are_left_alone(tree, owner):
    system = make_system(tree.dept_a, code="keep", description="Giữ nguyên", internet_facing=True, regime="ND85_2016")
    report = services.import_systems(csv_bytes("owner,code,name\nso-a,keep,Tên mới\n"), "csv", owner)
    assert report.ok and report.updated == 1
    system.refresh_from_db()
    assert (system.name, system.description, system.internet_facing, system.regime) == (
        "Tên mới",
        "Giữ nguyên",
        True,
        "ND85_2016",
    )


def test_cannot_import_outside_ones_scope(tree, owner):
    make_system(tree.dept_b, code="their", name="Của tỉnh B")
    text = (
        "owner,code,name,operator\n"
        "so-b,mine,Vào tỉnh B,\n"  # owner outside the scope
        "so-b,their,Đổi của tỉnh B,\n"  # an existing system outside the scope
        "so-a,ok,Được,so-b\n"  # operator outside the scope
        "tinh-a,up,Lên trên,\n"  # the parent organisation is outside too
    )
    report = services.import_systems(csv_bytes(text), "csv", owner)
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert set(messages) == {(2, "owner"), (3, "owner"), (4, "operator"), (5, "owner")}
    assert "so-b" in messages[(2, "owner")]
    assert InformationSystem.objects.count() == 1


def test_a_viewer_may_reimport_unchanged_rows_but_not_change_them(tree):
    make_system(tree.dept_a, code="a", name="A")
    viewer = make_user(tree.province_a, "security_officer")
    with pytest.raises(PermissionDenied):
        services.import_systems(csv_bytes("owner,code,name\nso-a,a,A\n"), "csv", viewer)
    system_owner_elsewhere = make_user(tree.dept_b, "system_owner", username="owner-b")
    report = services.import_systems(csv_bytes("owner,code,name\nso-a,a,B\n"), "csv", system_owner_elsewhere)
    assert report.errors[0].column == "owner"


def test_merged_organisations_are_refused_with_their_successor(tree, national_admin):
    merge(tree.dept_b, tree.dept_a)
    report = services.import_systems(csv_bytes("owner,code,name\nso-b,x,X\n"), "csv", national_admin)
    assert "so-a" in report.errors[0].message


def test_header_problems(tree, owner):
    report = services.import_systems(csv_bytes("code,name,colour,name\nx,X,red,X\n"), "csv", owner)
    assert {(e.row, e.column) for e in report.errors} == {(1, "colour"), (1, "name"), (1, "owner")}
    with pytest.raises(transfer.ImportFileError):
        services.import_systems(b"\n\n", "csv", owner)


def test_parents_within_the_file_and_cycles(tree, owner):
    text = (
        "owner,code,name,parent_system\n"
        "so-a,child,Con,parent\n"  # refers to a later row
        "so-a,parent,Cha,\n"
        "so-a,loop-a,Vòng A,loop-b\n"
        "so-a,loop-b,Vòng B,loop-a\n"
        "so-a,self,Tự thân,self\n"
        "so-a,orphan,Mồ côi,nowhere\n"
    )
    report = services.import_systems(csv_bytes(text), "csv", owner)
    assert report.bad_rows == [4, 5, 6, 7]
    fixed = "\n".join(text.splitlines()[:3]) + "\n"
    assert services.import_systems(csv_bytes(fixed), "csv", owner).ok
    assert InformationSystem.objects.get(code="child").parent_system.code == "parent"


def test_values_outside_the_columns_are_reported(tree, owner):
    report = services.import_systems(csv_bytes("owner,code,name\nso-a,x,X,extra\nso-a,y\n"), "csv", owner)
    assert [(e.row, e.column) for e in report.errors] == [(2, "#4"), (3, "name")]


def test_not_utf8_is_refused_with_a_sentence(tree, owner):
    with pytest.raises(transfer.ImportFileError, match="UTF-8"):
        services.import_systems(
            csv_bytes(HEADER + "so-a,x,Hệ thống,internal,public,0,false,\n", encoding="utf-16"), "csv", owner
        )


def test_size_limit(tree, owner, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_BYTES", 100)
    with pytest.raises(transfer.ImportFileError, match="larger than"):
        services.import_systems(b"owner,code,name\n" + b"so-a,x,X\n" * 20, "csv", owner)

    class Upload(io.BytesIO):
        size = 10**9  # an upload that says how big it is is refused before reading

    with pytest.raises(transfer.ImportFileError, match="larger than"):
        services.import_systems(Upload(b""), "csv", owner)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_row_limit(tree, owner, monkeypatch, fmt):
    monkeypatch.setattr(transfer, "MAX_ROWS", 3)
    rows = [["owner", "code", "name"]] + [["so-a", f"s{i}", f"S{i}"] for i in range(4)]
    data = transfer._write_csv(rows[0], rows[1:]) if fmt == "csv" else transfer._write_xlsx(rows[0], rows[1:])
    with pytest.raises(transfer.ImportFileError, match="more than 3 rows"):
        services.import_systems(data, fmt, owner)
    assert services.import_systems(
        transfer._write_csv(rows[0], rows[1:4]) if fmt == "csv" else transfer._write_xlsx(rows[0], rows[1:4]),
        fmt,
        owner,
    ).ok


def test_limits_are_the_documented_ones():
    assert transfer.MAX_BYTES == 10 * 1024 * 1024
    assert transfer.MAX_ROWS == 50_000


@pytest.mark.parametrize("junk", [b"PK\x03\x04 not really a zip", b"", b"\x00\x01\x02", b"owner,code\n"])
def test_damaged_workbooks_are_refused(tree, owner, junk):
    with pytest.raises(transfer.ImportFileError):
        services.import_systems(junk, "xlsx", owner)


def test_xlsx_cells_of_any_type(tree, owner):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Chủ quản", "Mã hệ thống", "Tên hệ thống", "Kết nối Internet", "Số người dùng", "Cấp độ quyết định"])
    sheet.append([None, None, None, None, None, None])  # a blank row is skipped
    sheet.append(["so-a", "x", "Hệ thống X", True, 15000.0, 3])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = services.import_systems(buffer.getvalue(), "xlsx", owner)
    assert report.ok, report.errors
    system = InformationSystem.objects.get(code="x")
    assert (system.internet_facing, system.user_count, system.decided_level) == (True, 15_000, 3)


def test_detect_format(national_admin):
    assert transfer.detect_format("a.XLSX") == "xlsx"
    assert transfer.detect_format("a.csv") == "csv"
    assert transfer.detect_format("upload", b"PK\x03\x04") == "xlsx"
    assert transfer.detect_format("upload", b"owner") == "csv"
    with pytest.raises(transfer.ImportFileError):
        services.import_systems(b"", "ods", national_admin)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_text_starting_with_a_quote_before_a_sign_survives_the_round_trip(tree, national_admin, fmt):
    """A description such as "'-' nghĩa là không có" lost its quote when the export was imported back (the import
    took it for the quote the export puts before a formula sign), so re-importing an export changed the system."""
    system = make_system(tree.dept_a, description="'-' nghĩa là không có", hosting_provider="''=x", name="'@ A")
    data = services.export_systems(InformationSystem.objects.all(), fmt)
    report = services.import_systems(data, fmt, national_admin)
    assert (report.updated, report.unchanged) == (0, 1)
    system.refresh_from_db()
    assert (system.description, system.hosting_provider, system.name) == ("'-' nghĩa là không có", "''=x", "'@ A")
    typed = services.import_systems(
        csv_bytes(f"owner,code,description\nso-a,{system.code},'=SUM(A1)\n"), "csv", national_admin
    )
    system.refresh_from_db()
    assert typed.updated == 1 and system.description == "=SUM(A1)"


def test_an_operator_outside_the_scope_is_kept_on_reimport(tree, owner):
    """A system operated by a unit outside the importer's scope (set by the national authority) could not be
    re-imported from its own export: 'No organisation with code … in your scope' on every such row."""
    make_system(tree.dept_a, code="a", name="A", operator=tree.ministry)
    data = services.export_systems(InformationSystem.objects.all(), "csv")
    report = services.import_systems(data, "csv", owner)
    assert report.ok, report.errors
    assert report.unchanged == 1
    changed = services.import_systems(csv_bytes(f"owner,code,operator\nso-a,a,{tree.dept_b.code}\n"), "csv", owner)
    assert [e.column for e in changed.errors] == ["operator"]


def test_import_tells_nothing_about_systems_one_may_not_view(tree):
    """A system owner who also watches another province (a role that sees its organisations, not its systems)
    could learn that province's system codes and their values from the import's answers ('unchanged' versus
    'You may not add systems'), even on a dry run."""
    from attt.core.models import Role, RoleAssignment

    make_system(tree.dept_b, code="bi-mat", name="Hệ thống B", internet_facing=True)
    user = make_user(tree.dept_a, "system_owner", username="owner-and-analyst")
    RoleAssignment.objects.create(user=user, role=Role.objects.get(code="soc_analyst"), organization=tree.province_b)
    answers = [
        services.import_systems(
            csv_bytes(f"owner,code,name\n{tree.dept_b.code},{code},Hệ thống B\n"), "csv", user, dry_run=True
        )
        for code in ("bi-mat", "khong-co")
    ]
    assert answers[0].as_dict() == answers[1].as_dict()
    assert answers[0].errors[0].message == f"No organisation with code '{tree.dept_b.code}' in your scope."
