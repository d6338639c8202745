"""How the isolation matrix (and detection's own tests) build alerts, rules and events."""

import datetime
import uuid
from dataclasses import dataclass, field
from itertools import count

from django.utils import timezone

from attt.core.testing import matrix_factory
from attt.detection.models import Alert, SigmaRule

_serial = count(1)


def make_alert(organization, **fields) -> Alert:
    n = next(_serial)
    moment = fields.pop("at", None) or timezone.now()
    signature = fields.pop("signature", f"rule-{n:06d}")
    values = {
        "kind": Alert.Kind.SIGMA,
        "signature": signature,
        "rule_id": signature,
        "rule_author": "Tác giả thử",
        "source_id": uuid.uuid4(),
        "title": f"Cảnh báo số {n:06d}",
        "severity": "high",
        "window_start": moment,
        "first_seen": moment,
        "last_seen": moment,
        "count": 1,
        **fields,
    }
    return Alert.objects.create(organization=organization, **values)


@matrix_factory(Alert)
def alert_factory(organization) -> Alert:
    return make_alert(organization)


def make_rule(**fields) -> SigmaRule:
    n = next(_serial)
    values = {"rule_id": f"00000000-0000-4000-8000-{n:012d}", "title": f"Quy tắc {n:06d}", "text": "title: x\n"}
    return SigmaRule.objects.create(**{**values, **fields})


@dataclass
class Event:
    """A NormalisedEvent look-alike for unit tests (monitoring's dataclass carries the same fields)."""

    id: str
    source_id: uuid.UUID
    organization_id: uuid.UUID
    timestamp: datetime.datetime
    fields: dict = field(default_factory=dict)
    observables: list = field(default_factory=list)
    system_id: uuid.UUID | None = None
    ecs: dict = field(default_factory=dict)
