"""The registry part of the demo: about 3,418 × scale information systems across the demo organisations.

Each owner gets its signature systems first (a province's public-service portal, a ministry's national
systems), then everyday ones, with facts drawn so that levels 2–3 dominate and a few level 4–5 systems
sit with the ministries and the national authority. Components carry real-looking CPE 2.3 names and
package URLs so vulnerability matching has something to find; addresses come only from the
documentation ranges (RFC 5737, RFC 3849); people are made up and mail goes to demo.attt.invalid.
Rows are bulk-inserted (the audit signals do not fire), so one summary event per owner records the load.
"""

import ipaddress
import random
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from attt.core import audit, demo
from attt.core.models import AuditEvent, Organization
from attt.registry.models import (
    CHILD_MODELS,
    Component,
    Contact,
    Domain,
    InformationSystem,
    IPRange,
    Server,
    default_regime,
    network_bounds,
)
from attt.registry.validators import cpe_quote

CATALOGUE = Path(__file__).parent / "data" / "demo" / "catalogue.yaml"
NATIONAL_SYSTEMS = 3418
EMAIL_DOMAIN = "demo.attt.invalid"
DOC_NETWORKS_V4 = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]

# How many systems each kind of owner holds, relative to the others.
WEIGHTS = {
    "authority": 25,
    "authority_unit": 30,
    "ministry": 60,
    "ministry_unit": 90,
    "province": 40,
    "so_khcn": 40,
    "ttcntt": 90,
    "vp_ubnd": 70,
    "so_yte": 80,
    "so_tc": 45,
    "sector_cert": 20,
    "department": 30,
    "unit": 20,
}
FAMILIES = {
    "bo-y-te": "byt",
    "bo-tai-chinh": "btc",
    "bo-gddt": "bgd",
    "bo-khcn": "bkhcn",
    "bo-xay-dung": "bxd",
    "bo-nnmt": "bnnmt",
}
SECTOR_OF = {
    "byt": "health",
    "so_yte": "health",
    "btc": "finance",
    "so_tc": "finance",
    "bkhcn": "information",
    "so_khcn": "information",
    "ttcntt": "information",
    "bxd": "transport",
    "bnnmt": "natural_resources_environment",
    "vp_ubnd": "government_direction",
    "province": "government_direction",
    "authority": "security_order",
    "authority_unit": "security_order",
    "cert-ngan-hang": "banking",
    "cert-nang-luong": "energy",
    "cert-giao-thong": "transport",
}
PROVINCE_UNITS = ("so-khcn", "ttcntt", "vp-ubnd", "so-yte", "so-tc")
# Which topic groups of the catalogue an owner's generic systems are about (by tag; "common" for all).
TOPIC_GROUPS = {
    "byt": ["health"],
    "so_yte": ["health"],
    "btc": ["finance"],
    "so_tc": ["finance"],
    "bgd": ["education"],
    "bkhcn": ["science"],
    "so_khcn": ["science"],
    "ttcntt": ["science", "local"],
    "bxd": ["construction"],
    "bnnmt": ["environment"],
    "province": ["local", "construction", "environment", "education"],
    "vp_ubnd": ["local"],
    "authority": ["security"],
    "authority_unit": ["security"],
    "sector_cert": ["security"],
}


# --- Facts by profile -------------------------------------------------------------------------------------
# Each profile returns the level facts of one kind of system and the level it aims at (for the zones).


def _some(rng: random.Random, low: int, high: int) -> int:
    """A count spread over orders of magnitude (log-uniform), rounded like figures in a report."""
    value = int(low * (high / low) ** rng.random())
    return int(round(value, -max(0, len(str(value)) - 2)))


def p_internal_public(rng):
    return {"system_type": "internal", "information_classes": ["public"]}, 1


def p_internal_private(rng):
    return {"system_type": "internal", "information_classes": ["public", "private"]}, 2


def p_internal_personal(rng):
    return {
        "system_type": "internal",
        "information_classes": ["private", "personal"],
        "users_with_private_data": _some(rng, 50, 5000),
        "data_subjects_basic": _some(rng, 100, 50_000),
    }, 2


def p_portal(rng):
    return {
        "system_type": "citizen_service",
        "information_classes": rng.choice([["public"], ["public", "private"]]),
        "online_public_service_level": rng.choice([0, 1, 2, 2]),
        "users_with_private_data": _some(rng, 10, 3000),
    }, 2


def p_citizen_private(rng):
    users = _some(rng, 500, 9000)
    return {
        "system_type": "citizen_service",
        "information_classes": ["public", "private", "personal"],
        "users_with_private_data": users,
        "data_subjects_basic": users,
    }, 2


def p_citizen_app(rng):
    users = _some(rng, 20_000, 2_000_000)
    return {
        "system_type": "citizen_service",
        "information_classes": ["public", "private", "personal"],
        "users_with_private_data": users,
        "data_subjects_basic": users,
        "data_subjects_sensitive": rng.choice([0, 0, _some(rng, 1000, 50_000)]),
    }, 3


def p_public_service(rng):
    users = _some(rng, 10_000, 3_000_000)
    return {
        "system_type": "citizen_service",
        "information_classes": ["public", "private", "personal"],
        "online_public_service_level": rng.choice([3, 4, 4]),
        "resolves_administrative_procedures": True,
        "users_with_private_data": users,
        "data_subjects_basic": users,
    }, 3


def p_conditional(rng):
    facts, _level = p_citizen_app(rng)
    return {**facts, "conditional_business_line": True}, 3


def p_health(rng):
    subjects = _some(rng, 5000, 2_000_000)
    return {
        "system_type": "citizen_service",
        "information_classes": ["private", "personal"],
        "users_with_private_data": subjects,
        "data_subjects_basic": subjects,
        "data_subjects_sensitive": subjects,
    }, 3


def p_database(rng):
    shared = rng.random() < 0.5
    return {
        "system_type": "shared_infrastructure" if shared else "internal",
        "infrastructure_scope": "sector_or_province" if shared else "none",
        "information_classes": ["private", "personal"],
        "data_subjects_basic": _some(rng, 10_000, 5_000_000),
    }, 3 if shared else 2


def p_lan(rng):
    return {
        "system_type": "shared_infrastructure",
        "infrastructure_scope": "one_organisation",
        "information_classes": ["public", "private"],
    }, 2


def p_shared_province(rng):
    return {
        "system_type": "shared_infrastructure",
        "infrastructure_scope": "sector_or_province",
        "information_classes": ["public", "private", "personal"],
        "operates_24x7": rng.random() < 0.3,
    }, 3


def p_shared_national(rng):
    return {
        "system_type": "shared_infrastructure",
        "infrastructure_scope": "nationwide",
        "information_classes": ["public", "private", "personal"],
        "operates_24x7": True,
    }, 4


def p_international(rng):
    return {
        "system_type": "shared_infrastructure",
        "infrastructure_scope": "international",
        "information_classes": ["public", "private"],
        "operates_24x7": True,
    }, 5


def p_national_egov(rng):
    users = _some(rng, 500_000, 20_000_000)
    return {
        "system_type": "citizen_service",
        "information_classes": ["public", "private", "personal"],
        "national_egovernment": True,
        "operates_24x7": True,
        "online_public_service_level": 4,
        "resolves_administrative_procedures": True,
        "users_with_private_data": users,
        "data_subjects_basic": users,
    }, 4


def p_central_data(rng):
    return {
        "system_type": "internal",
        "information_classes": ["private", "personal"],
        "central_national_data": True,
        "data_subjects_basic": _some(rng, 10_000_000, 100_000_000),
    }, 5


def _scada(rng, grades):
    grade = rng.choices(list(grades), weights=list(grades.values()))[0]
    level = {"IV": 3, "III": 3, "II": 3, "I": 4, "special": 5, "national_security": 5}[grade]
    return {
        "system_type": "industrial_control",
        "information_classes": ["private"],
        "construction_grade": grade,
        "operates_24x7": True,
    }, level


def p_scada(rng):
    return _scada(rng, {"IV": 30, "III": 40, "II": 25, "I": 5})


def p_scada_major(rng):
    return _scada(rng, {"II": 30, "I": 55, "special": 15})


def p_camera_city(rng):
    return {
        "system_type": "shared_infrastructure",
        "infrastructure_scope": "sector_or_province",
        "information_classes": ["private", "personal"],
        "data_subjects_basic": _some(rng, 100_000, 5_000_000),
    }, 3


def p_secret(rng):
    harm = rng.choice(["harm", "harm", "serious"])
    return {
        "system_type": "internal",
        "information_classes": ["private", "state_secret"],
        "state_secret_grade": "confidential" if harm == "harm" else "secret",
        "security_harm": harm,
    }, 3 if harm == "harm" else 4


def p_secret_major(rng):
    return {
        "system_type": "shared_infrastructure",
        "infrastructure_scope": "nationwide",
        "information_classes": ["private", "state_secret"],
        "state_secret_grade": "secret",
        "security_harm": "serious",
        "operates_24x7": True,
    }, 4


def p_secret_top(rng):
    return {
        "system_type": "internal",
        "information_classes": ["private", "personal", "state_secret"],
        "state_secret_grade": "top_secret",
        "security_harm": "especially_serious",
    }, 5


PROFILES: dict[str, Callable[[random.Random], tuple[dict, int]]] = {
    name.removeprefix("p_"): func for name, func in globals().items() if name.startswith("p_")
}
# Minimum network zones per level (Circular 12/2022 annexes: 3, 5, 7, 8, 8).
ZONES = [
    "internal",
    "perimeter",
    "internal_servers",
    "dmz",
    "management",
    "database",
    "device_management",
    "wireless",
]
ZONE_COUNT = {1: 3, 2: 5, 3: 7, 4: 8, 5: 8}
NATIONAL_OWNERS = {"ministry", "ministry_unit", "authority", "authority_unit"}
# Systems of the kinds listed in the annex of Decision 632/QĐ-TTg (the DNS, the dedicated data network and
# the document-management system of the four tiers).
NATIONAL_IMPORTANT = {"dns", "tsl", "qlvb-tinh"}
EXPOSED = {"portal", "citizen_private", "citizen_app", "public_service", "conditional", "health", "national_egov"}


# --- Owners ---------------------------------------------------------------------------------------------


@dataclass
class Owner:
    org: Organization
    category: str
    tags: set[str]
    place: str  # "tỉnh Tuyên Quang", "Bộ Tài chính"
    placename: str  # "Tuyên Quang"
    domain: str  # "soyte.tuyenquang.gov.vn"
    sector: str = ""
    province_code: str = ""
    operator: Organization | None = None
    codes: set[str] = field(default_factory=set)


def _ascii(text: str) -> str:
    value = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in value if ch.isascii() and (ch.isalnum() or ch in " -.")).lower()


def _owners() -> list[Owner]:
    orgs = list(Organization.objects.filter(is_active=True).exclude(kind="soc_provider").order_by("code"))
    by_code = {o.code: o for o in Organization.objects.all()}
    by_pk = {o.pk: o for o in by_code.values()}
    provinces = sorted((o for o in by_code.values() if o.kind == "province"), key=lambda o: -len(o.code))
    owners = []
    for org in orgs:
        tags = {org.code}
        province = next((p for p in provinces if org.code == p.code or org.code.startswith(p.code + "-")), None)
        parent = by_pk.get(org.parent_id)
        ministry = org if org.kind == "ministry" else parent if parent and parent.kind == "ministry" else None
        if org.kind == "national_authority":
            category = "authority"
        elif parent is not None and parent.kind == "national_authority" and org.kind == "unit":
            category = "authority_unit"
        elif org.kind in {"ministry", "sector_cert", "province"}:
            category = org.kind
        elif ministry is not None:
            category = "ministry_unit"
        elif province is not None and org.code[len(province.code) + 1 :] in PROVINCE_UNITS:
            category = org.code[len(province.code) + 1 :].replace("-", "_")
        else:
            category = org.kind if org.kind in WEIGHTS else "unit"
        tags.add(category)
        if ministry is not None:
            tags.add(FAMILIES.get(ministry.code, ministry.code))
        if province is not None:
            short = province.name.replace("Thành phố ", "").replace("Tỉnh ", "")
            place = province.name[0].lower() + province.name[1:]
            prov_domain = _ascii(province.code).replace("-", "")
            rest = org.code[len(province.code) + 1 :].replace("-", "")
            domain = f"{rest}.{prov_domain}.gov.vn" if rest else f"{prov_domain}.gov.vn"
        else:
            short = ministry.name if ministry else org.short_name or org.name
            place = ministry.name if ministry else org.name
            domain = f"{org.code.replace('-', '')}.gov.vn"
        sector = next((SECTOR_OF[t] for t in sorted(tags) if t in SECTOR_OF), "")
        if province is not None and province.code in {"ha-noi", "tp-hcm"} and category == "province":
            sector = "urban"
        owners.append(
            Owner(org, category, tags, place, short, domain, sector, province.code if province is not None else "")
        )
    operators = {o.org.code: o.org for o in owners if o.org.kind == "operator"}
    for owner in owners:
        if owner.org.kind == "operator":
            continue
        family = next((t for t in sorted(owner.tags) if t in FAMILIES.values()), None)
        if owner.province_code:
            owner.operator = operators.get(f"{owner.province_code}-ttcntt")
        elif family:
            owner.operator = next((org for code, org in operators.items() if code.startswith(family + "-")), None)
    return owners


# --- Systems --------------------------------------------------------------------------------------------


@cache
def catalogue() -> dict:
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _names_for(owner: Owner, count: int, rng: random.Random) -> list[dict]:
    """`count` system templates for the owner: signature ones first, then others, then generic topics."""
    data = catalogue()
    fits = [t for t in data["templates"] if "all" in t["who"] or owner.tags & set(t["who"])]
    first = [t for t in fits if t.get("first")]
    rest = [t for t in fits if not t.get("first")]
    rng.shuffle(rest)
    chosen = (first + rest)[:count]
    groups = ["common", *(g for tag in sorted(owner.tags) for g in TOPIC_GROUPS.get(tag, []))]
    topics = list(dict.fromkeys(t for g in groups for t in data["topics"][g]))
    rng.shuffle(topics)
    generic = data["generic"]
    while len(chosen) < count:
        index = len(chosen) - len(first) - len(rest)
        template = generic[index % len(generic)]
        topic = topics[index % len(topics)]
        round_ = index // len(topics)
        suffix = f" (phân hệ {round_ + 1})" if round_ else ""
        chosen.append(
            {
                "key": f"{template['sub']}-{index + 1:03d}",
                "sub": f"{template['sub']}{index + 1}",
                "profile": template["profile"],
                "name": f"{template['prefix']} {topic} {{place}}{suffix}",
            }
        )
    return chosen


def _fill(template: dict, owner: Owner, rng: random.Random) -> str:
    data = catalogue()
    return (
        template["name"]
        .replace("{org}", owner.place if owner.category == "province" else owner.org.name)
        .replace("{place}", owner.place)
        .replace("{placename}", owner.placename)
        .replace("{hospital}", rng.choice(data["hospitals"]))
        .replace("{reservoir}", rng.choice(data["reservoirs"]))
        .replace("{highway}", rng.choice(data["highways"]))
    )


def _system(owner: Owner, template: dict, rng: random.Random) -> tuple[InformationSystem, int]:
    facts, level = PROFILES[template["profile"]](rng)
    if (
        owner.category in NATIONAL_OWNERS
        and facts.get("infrastructure_scope") == "sector_or_province"
        and rng.random() < 0.35
    ):
        # A ministry's shared systems often serve its whole sector nationwide, round the clock.
        facts.update(infrastructure_scope="nationwide", operates_24x7=True)
        level = 4
    code = template["key"]
    n = 2
    while code in owner.codes:
        code, n = f"{template['key']}-{n}", n + 1
    owner.codes.add(code)
    status = rng.choices(["operating", "upgrading", "building", "planned", "retired"], weights=[75, 8, 7, 5, 5])[0]
    hosting = rng.choices(["own_premises", "data_centre", "cloud"], weights=[45, 42, 13])[0]
    provider = ""
    if hosting == "data_centre":
        provider = f"Trung tâm dữ liệu {owner.place}"
    elif hosting == "cloud":
        provider = rng.choice(
            [
                "Công ty Cổ phần Điện toán đám mây Sao Việt (dữ liệu mẫu)",
                "Công ty TNHH Hạ tầng số Phương Nam (dữ liệu mẫu)",
            ]
        )
    if rng.random() < 0.02:
        facts["decided_level"] = min(5, level + rng.choice([0, 1]))
    sector = template.get("sector") or (owner.sector if rng.random() < 0.5 else "")
    if template["profile"] in {"scada", "scada_major"} and not sector:
        sector = "energy"
    internet = template["profile"] in EXPOSED or rng.random() < 0.12
    system = InformationSystem(
        id=_uuid(rng),
        organization=owner.org,
        code=code,
        name=_fill(template, owner, rng),
        description=f"Hệ thống phục vụ {owner.org.name} (dữ liệu mẫu).",
        operator=owner.operator if owner.operator and rng.random() < 0.7 else None,
        lifecycle_status=status,
        regime="ND85_2016" if status in {"operating", "upgrading", "retired"} else default_regime(),
        user_count=max(facts.get("users_with_private_data", 0), _some(rng, 10, 2000)),
        hosting=hosting,
        hosting_provider=provider,
        internet_facing=internet,
        network_zones=ZONES[: ZONE_COUNT[facts.get("decided_level") or level]],
        priority_sector=sector,
        national_important=template.get("key") in NATIONAL_IMPORTANT,
        national_security_important=level == 5 or (level == 4 and template["profile"].startswith("secret")),
        **facts,
    )
    system._demo_sub = template.get("sub", code)
    return system, level


# --- Components and the rest ----------------------------------------------------------------------------


@cache
def _products() -> dict[str, list[tuple]]:
    data = catalogue()
    groups: dict[str, list[tuple]] = {}
    for group, rows in data["cpe_products"].items():
        groups[group] = [
            (kind, vendor, product, version, f"cpe:2.3:{part}:{cv}:{cp}:{cpe_quote(version)}:*:*:*:*:*:*:*", "")
            for kind, vendor, product, part, cv, cp, versions in rows
            for version in versions
        ]
    groups["library"] = [
        (kind, vendor, product, version, "", f"{prefix}@{version}")
        for kind, vendor, product, prefix, versions in data["purl_products"]
        for version in versions
    ]
    groups["local"] = [
        (kind, vendor, product, version, "", "")
        for kind, vendor, product, versions in data["local_products"]
        for version in versions
    ]
    return groups


STACK = ["os", "web", "database", "runtime", "application"]
FILLERS = ["network_device", "hardware", "library", "middleware", "service", "os", "database", "network_device"]


def _components(system: InformationSystem, rng: random.Random) -> list[Component]:
    products = _products()
    count = rng.randint(5, 30)
    picks = [rng.choice(products[g]) for g in STACK]
    if rng.random() < 0.5:
        picks[-1] = rng.choice(products["local"])
    while len(picks) < count:
        picks.append(rng.choice(products[rng.choice(FILLERS)]))
    return [
        Component(
            id=_uuid(rng),
            system=system,
            organization_id=system.organization_id,
            kind=kind,
            vendor=vendor,
            product=product,
            version="" if version == "-" else version,
            cpe23=cpe,
            purl=purl,
        )
        for kind, vendor, product, version, cpe, purl in picks[:count]
    ]


ROLES = [("web", "dmz"), ("app", "internal_servers"), ("db", "database"), ("backup", "internal_servers")]


def _servers(system: InformationSystem, os_name: str, rng: random.Random) -> list[Server]:
    servers = []
    for index in range(rng.choices([1, 2, 3, 4, 6], weights=[25, 30, 25, 12, 8])[0]):
        role, zone = ROLES[index % len(ROLES)]
        network = rng.choice(DOC_NETWORKS_V4)
        servers.append(
            Server(
                id=_uuid(rng),
                system=system,
                organization_id=system.organization_id,
                hostname=f"{system.code}-{role}{index // len(ROLES) + 1:02d}"[:63],
                ip_address=str(network[rng.randint(1, 254)]),
                os=os_name,
                zone=zone if zone in system.network_zones else "",
                role=role,
            )
        )
    return servers


def _domains(system: InformationSystem, owner: Owner, rng: random.Random) -> list[Domain]:
    if not system.internet_facing:
        return []
    names = [f"{system._demo_sub}.{owner.domain}"]
    if rng.random() < 0.3:
        names.append(f"{system.code.replace('-', '')}.{owner.domain}")
    return [
        Domain(id=_uuid(rng), system=system, organization_id=system.organization_id, name=n, ascii_name=n)
        for n in dict.fromkeys(names)
    ]


def _ip_ranges(system: InformationSystem, serial: int, rng: random.Random) -> list[IPRange]:
    networks = []
    for _i in range(rng.choices([1, 2, 3], weights=[50, 35, 15])[0]):
        prefix = rng.choice([27, 28, 29])
        base = rng.choice(DOC_NETWORKS_V4)
        subnets = 2 ** (prefix - 24)
        networks.append(ipaddress.ip_network(f"{base[rng.randrange(subnets) * 2 ** (32 - prefix)]}/{prefix}"))
    if rng.random() < 0.4:
        networks.append(ipaddress.ip_network(f"2001:db8:{serial >> 16:x}:{serial & 0xFFFF:x}::/64"))
    ranges = []
    for network in dict.fromkeys(networks):
        first, last = network_bounds(network)
        ranges.append(
            IPRange(
                id=_uuid(rng),
                system=system,
                organization_id=system.organization_id,
                cidr=str(network),
                description="Dải địa chỉ máy chủ (tài liệu, RFC 5737/3849)",
                first_address=first,
                last_address=last,
            )
        )
    return ranges


CONTACT_TITLES = {
    "owner_representative": ["Phó Giám đốc", "Phó Chánh Văn phòng", "Phó Cục trưởng", "Phó Vụ trưởng"],
    "operator": ["Trưởng phòng Hạ tầng", "Phó Giám đốc Trung tâm"],
    "security_officer": ["Cán bộ chuyên trách an toàn thông tin", "Trưởng nhóm an toàn thông tin"],
    "technical": ["Kỹ sư hệ thống", "Chuyên viên quản trị mạng", "Quản trị cơ sở dữ liệu"],
    "vendor": ["Giám đốc dự án", "Kỹ sư triển khai"],
}


def _contacts(system: InformationSystem, rng: random.Random) -> list[Contact]:
    roles = ["owner_representative", "security_officer", *rng.sample(["operator", "technical", "vendor"], k=2)]
    contacts = []
    for role in roles[: rng.randint(2, 4)]:
        last, first = demo.person_name(rng)
        local = f"{_ascii(first)}.{''.join(w[0] for w in _ascii(last).split())}{rng.randint(1, 999)}"
        contacts.append(
            Contact(
                id=_uuid(rng),
                system=system,
                organization_id=system.organization_id,
                role=role,
                name=f"{last} {first}",
                title=rng.choice(CONTACT_TITLES[role]),
                email=f"{local}@{EMAIL_DOMAIN}",
            )
        )
    return contacts


# --- Loader ---------------------------------------------------------------------------------------------


@demo.register("registry", order=10)
def load(ctx: demo.DemoContext) -> dict:
    rng = ctx.rng
    owners = _owners()
    total = round(NATIONAL_SYSTEMS * ctx.scale)
    picks = Counter(rng.choices(range(len(owners)), weights=[WEIGHTS[o.category] for o in owners], k=total))
    systems: list[InformationSystem] = []
    parts: dict[type, list] = defaultdict(list)
    per_owner: dict[Organization, Counter] = defaultdict(Counter)
    levels: Counter = Counter()
    for index, owner in enumerate(owners):
        owned = []
        for template in _names_for(owner, picks.get(index, 0), rng):
            system, level = _system(owner, template, rng)
            levels[level] += 1
            owned.append(system)
        _compose(owned, rng)
        for system in owned:
            systems.append(system)
            components = _components(system, rng)
            os_name = next((f"{c.vendor} {c.product} {c.version}".strip() for c in components if c.kind == "os"), "")
            records = {
                Component: components,
                Server: _servers(system, os_name, rng),
                Domain: _domains(system, owner, rng),
                IPRange: _ip_ranges(system, len(systems), rng),
                Contact: _contacts(system, rng),
            }
            for model, rows in records.items():
                parts[model] += rows
                per_owner[owner.org][model._meta.model_name] += len(rows)
            per_owner[owner.org]["informationsystem"] += 1
        ctx.progress(f"registry {owner.org.code}")
    InformationSystem.objects.bulk_create(systems, batch_size=500)
    for model in CHILD_MODELS:
        model.objects.bulk_create(parts[model], batch_size=1000)
    for org, counts in per_owner.items():
        audit.record(
            AuditEvent.Action.CREATE,
            object_type=InformationSystem._meta.label_lower,
            object_repr=f"Demo: {counts['informationsystem']} information systems (bulk load)",
            organization=org,
            changes={"bulk_create": dict(sorted(counts.items()))},
        )
    return {
        "systems": len(systems),
        **{m._meta.model_name: len(parts[m]) for m in CHILD_MODELS},
        "target levels": dict(sorted(levels.items())),
    }


def _compose(systems: list[InformationSystem], rng: random.Random) -> None:
    """Make a few systems parts of a composite of the same owner (one level deep, so never a cycle)."""
    if len(systems) < 6:
        return
    composite = systems[0]
    for system in systems[1:]:
        if rng.random() < 0.03:
            system.parent_system = composite
