"""Builders for intel tests and the isolation matrix."""

import datetime
import uuid
from itertools import count

from django.utils import timezone

from attt.core.testing import matrix_factory
from attt.intel.models import Collection, CollectionGrant, Indicator, StixObject, TaxiiStatus
from attt.intel.sharing import SharedObservable, SharedReport

_serial = count(1)


def make_report(**fields) -> SharedReport:
    when = datetime.datetime(2026, 3, 2, 8, 30, tzinfo=datetime.UTC)
    observables = [
        SharedObservable("ipv4", "192.0.2.10", comment="C2 server"),
        SharedObservable("ipv6", "2001:db8::10", to_detect=False),
        SharedObservable("domain", "update.example.com"),
        SharedObservable("url", "http://update.example.com/dl/payload.bin"),
        SharedObservable("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        SharedObservable("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        SharedObservable("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        SharedObservable("email", "phishing@example.net"),
        SharedObservable("phone", "+84912345678"),
        SharedObservable("bank_account", "0123456789012", to_detect=False),
    ]
    base = {
        "id": uuid.UUID("5b7c2a1e-8f3d-4c2b-9a61-0d4e5f6a7b8c"),
        "title": "Chiến dịch lừa đảo giả mạo ngân hàng",
        "description": "Mã độc đánh cắp thông tin đăng nhập.",
        "created": when,
        "modified": when + datetime.timedelta(hours=2),
        "tlp": "amber",
        "labels": ["phishing"],
        "techniques": ["T0883", "T1566.001"],
        "observables": observables,
        "producer": "Trung tâm Ứng cứu khẩn cấp",
    }
    return SharedReport(**{**base, **fields})


def tagged_event(event_tags, attribute_tags=(), value="203.0.113.7") -> dict:
    """A MISP event with TLP (or other) tags on the event and on its first attribute; its second is untagged."""
    return {
        "Event": {
            "info": "Chiến dịch lừa đảo",
            "date": "2025-06-01",
            "uuid": "5f0e9b5a-0000-4000-8000-00000000abcd",
            "Tag": [{"name": t} for t in event_tags],
            "Attribute": [
                {"type": "ip-dst", "value": value, "to_ids": True, "Tag": [{"name": t} for t in attribute_tags]},
                {"type": "domain", "value": "plain.example.vn", "to_ids": True},
            ],
        }
    }


@matrix_factory(Indicator, change_payload={"comment": "changed"})
def indicator_factory(organization) -> Indicator:
    n = next(_serial)
    now = timezone.now()
    return Indicator.objects.create(
        organization=organization, kind="domain", value=f"host{n}.example.com", first_seen=now, last_seen=now
    )


@matrix_factory(Collection, change_payload={"description": "changed"})
def collection_factory(organization) -> Collection:
    return Collection.objects.create(organization=organization, title=f"Bộ sưu tập {next(_serial)}")


@matrix_factory(CollectionGrant)
def grant_factory(organization) -> CollectionGrant:
    collection = collection_factory(organization)
    return CollectionGrant.objects.create(organization=organization, collection=collection, grantee=organization)


@matrix_factory(StixObject)
def stix_object_factory(organization) -> StixObject:
    collection = collection_factory(organization)
    now = timezone.now()
    object_id = f"indicator--{uuid.uuid4()}"
    return StixObject.objects.create(
        organization=organization,
        collection=collection,
        stix_id=object_id,
        type="indicator",
        version=now,
        date_added=now,
        data={"type": "indicator", "id": object_id},
    )


@matrix_factory(TaxiiStatus)
def status_factory(organization) -> TaxiiStatus:
    collection = collection_factory(organization)
    return TaxiiStatus.objects.create(
        organization=organization, collection=collection, request_timestamp=timezone.now()
    )
