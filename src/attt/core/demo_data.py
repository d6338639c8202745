"""The core part of the demo: the organisation tree with its 2025 mergers, and users per role."""

import datetime
from pathlib import Path

import yaml

from attt.core import demo
from attt.core.models import Organization, Role, RoleAssignment, User
from attt.core.services import organizations

DEMO_FILE = Path(__file__).parent / "data" / "demo" / "organizations.yaml"
EMAIL_DOMAIN = "demo.attt.invalid"  # a reserved name: no mail can reach a real person


def _create(spec: dict, parent: Organization | None, kind: str, when: datetime.date) -> Organization:
    org = organizations.create_organization(
        parent=parent,
        code=spec["code"],
        name=spec["name"],
        kind=spec.get("kind", kind),
        short_name=spec.get("short_name", ""),
        name_en=spec.get("name_en", ""),
        effective_date=when,
    )
    for unit in spec.get("units", []):
        _create(unit, org, "unit", when)
    return org


def place_name(province: Organization) -> str:
    """How a department's name ends: "Sở Y tế Hà Nội", "Sở Y tế Tuyên Quang", but the whole "Thành phố Hồ Chí Minh"
    (the city is never called by the name alone)."""
    place = province.name.removeprefix("Tỉnh ")
    short = place.removeprefix("Thành phố ")
    return place if short == "Hồ Chí Minh" else short


def _province_units(province: Organization, template: list[dict], when: datetime.date) -> None:
    def prefixed(spec: dict) -> dict:
        return {
            **spec,
            "code": f"{province.code}-{spec['code']}",
            "name": f"{spec['name']} {place_name(province)}",
            "units": [prefixed(u) for u in spec.get("units", [])],
        }

    for spec in template:
        _create(prefixed(spec), province, "department", when)


@demo.register("core", order=0)
def load(ctx: demo.DemoContext) -> dict:
    data = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    founded = datetime.date(2016, 7, 1)
    root = _create(data["root"], None, "national_authority", founded)
    ctx.progress("authority")
    for spec in data["ministries"]:
        _create(spec, root, "ministry", founded)
    for spec in data["provinces"]:
        province = _create(spec, root, "province", founded)
        _province_units(province, data["province_units"], founded)
        ctx.progress(spec["code"])
    for spec in data["sector_certs"]:
        _create(spec, root, "sector_cert", founded)
    for spec in data["soc_providers"]:
        _create(spec, root, "soc_provider", founded)

    merged = 0
    for item in data["history"]:
        source = _create(item["source"], root, item["source"]["kind"], founded)
        if item["source"].get("with_province_units"):
            _province_units(source, data["province_units"], founded)
        target = Organization.objects.get(code=item["into"])
        when, basis = item["effective_date"], item["legal_basis"]
        organizations.merge(source, target, effective_date=when, legal_basis=basis)
        merged += 1
        if item["source"].get("with_province_units"):
            _merge_province_units(source, target, data["province_units"], when, basis)
    ctx.progress("history")

    users = _users(ctx, root, data["role_users"])
    return {"organisations": Organization.objects.count(), "mergers": merged, "users": users}


def _merge_province_units(
    source: Organization, target: Organization, template: list[dict], when: datetime.date, basis: str
) -> None:
    """A merged province's departments join the target's same departments, as the 2025 provinces kept one
    department of each kind (one Sở Tài chính Tuyên Quang, no Sở Tài chính Hà Giang beside it)."""
    for spec in template:
        unit = Organization.objects.get(code=f"{source.code}-{spec['code']}")
        into = Organization.objects.get(code=f"{target.code}-{spec['code']}")
        organizations.merge(unit, into, effective_date=when, legal_basis=basis)
        _merge_province_units(source, target, spec.get("units", []), when, basis)


def _user(ctx: demo.DemoContext, username: str, org: Organization, title: str) -> User:
    last, first = demo.person_name(ctx.rng)
    user = User(
        username=username,
        first_name=first,
        last_name=last,
        organization=org,
        job_title=title,
        email=f"{username}@{EMAIL_DOMAIN}",
    )
    user.set_password(demo.DEMO_PASSWORD)
    user.save()
    return user


ROLE_TITLES = {
    "national_admin": "Quản trị hệ thống",
    "org_admin": "Quản trị đơn vị",
    "security_officer": "Cán bộ chuyên trách an toàn thông tin",
    "system_owner": "Cán bộ vận hành hệ thống",
    "soc_analyst": "Chuyên viên giám sát (SOC)",
    "incident_responder": "Chuyên viên ứng cứu sự cố",
    "inspector": "Thanh tra viên",
    "leader": "Lãnh đạo",
}


def _users(ctx: demo.DemoContext, root: Organization, spec: dict) -> int:
    roles = {r.code: r for r in Role.objects.all()}
    admin = _user(ctx, "admin", root, ROLE_TITLES["national_admin"])
    admin.is_staff = admin.is_superuser = True
    admin.save()
    RoleAssignment.objects.create(user=admin, role=roles["national_admin"], organization=root)
    count = 1
    for code in spec["national"]:
        if code == "national_admin":
            continue
        user = _user(ctx, f"qg.{code.replace('_', '')}", root, ROLE_TITLES[code])
        RoleAssignment.objects.create(user=user, role=roles[code], organization=root)
        count += 1
    for province_code in spec["provinces"]:
        province = Organization.objects.get(code=province_code)
        operator = Organization.objects.get(code=f"{province_code}-ttcntt")
        prefix = "".join(part[0] for part in province_code.split("-"))
        for code, title in ROLE_TITLES.items():
            if code == "national_admin":
                continue
            where = operator if code == "system_owner" else province
            user = _user(ctx, f"{prefix}.{code.replace('_', '')}", where, title)
            RoleAssignment.objects.create(user=user, role=roles[code], organization=where)
            count += 1
        ctx.progress(f"users {province_code}")
    return count
