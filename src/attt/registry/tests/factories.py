"""How the isolation matrix (and the registry's own tests) build one record in a given organisation.

Names are zero-padded so that one record's text is never part of another's ("Hệ thống 1" / "… 12").
"""

from itertools import count

from attt.core.testing import matrix_factory
from attt.registry.models import Component, Contact, Domain, InformationSystem, IPRange, Server

_serial = count(1)


def make_system(organization, **fields) -> InformationSystem:
    n = next(_serial)
    values = {"code": f"he-thong-{n:06d}", "name": f"Hệ thống số {n:06d}", **fields}
    return InformationSystem.objects.create(organization=organization, **values)


def edit_form(system: InformationSystem, **over) -> dict:
    """What the system's edit page sends back for `system` as stored, with the fields of `over` changed (a box
    left unticked is not sent, as a browser does)."""
    from attt.registry.forms import SystemForm

    form = SystemForm(instance=system)
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value is not False:
            data[name] = value if isinstance(value, list) else "" if value is None else str(value)
    return {**data, **over}


@matrix_factory(InformationSystem, change_payload={"description": "changed"})
def system_factory(organization) -> InformationSystem:
    return make_system(organization)


@matrix_factory(Component, change_payload={"notes": "changed"})
def component_factory(organization) -> Component:
    n = next(_serial)
    return Component.objects.create(
        system=make_system(organization),
        vendor="Apache",
        product=f"product-{n:06d}",
        version="2.4.57",
        cpe23="cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*",
    )


@matrix_factory(Server, change_payload={"role": "changed"})
def server_factory(organization) -> Server:
    n = next(_serial)
    return Server.objects.create(system=make_system(organization), hostname=f"srv-{n:06d}", ip_address="192.0.2.10")


@matrix_factory(Domain, change_payload={"name": "changed.example.gov.vn"})
def domain_factory(organization) -> Domain:
    n = next(_serial)
    return Domain.objects.create(system=make_system(organization), name=f"d{n:06d}.example.gov.vn")


@matrix_factory(IPRange, change_payload={"description": "changed"})
def iprange_factory(organization) -> IPRange:
    n = next(_serial)
    return IPRange.objects.create(system=make_system(organization), cidr=f"2001:db8:{n % 65536:x}::/48")


@matrix_factory(Contact, change_payload={"title": "changed"})
def contact_factory(organization) -> Contact:
    n = next(_serial)
    return Contact.objects.create(
        system=make_system(organization), role="technical", name=f"Người số {n:06d}", email=f"p{n}@example.invalid"
    )
