"""Recording of every change and workflow step into the hash-chained AuditEvent log.

Model saves and deletes of every attt model are recorded through signals, inside the same
transaction as the change. Bulk updates and workflow steps call `record()` themselves.
"""

import contextlib
import getpass
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils import timezone

from attt.core.models import AuditEvent, LoginAttempt, Notification
from attt.core.models.audit import GENESIS_HASH

HIDDEN = "[hidden]"
SENSITIVE_FIELDS = {"password", "totp_secret", "key_hash"}
IGNORED_FIELDS = {"updated_at", "last_login", "last_used_at", "totp_last_step"}
NOT_AUDITED = {AuditEvent, LoginAttempt, Notification}
_ADVISORY_LOCK_KEY = 0x61747474  # "attt"


@dataclass
class AuditContext:
    request: object | None = None
    actor_name: str = ""
    ip_address: str | None = None
    request_id: str = ""


_context: ContextVar[AuditContext | None] = ContextVar("attt_audit_context", default=None)


@contextlib.contextmanager
def audit_context(*, request=None, actor_name: str = "", ip_address: str | None = None) -> Iterator[None]:
    token = _context.set(AuditContext(request, actor_name, ip_address, str(uuid.uuid4())))
    try:
        yield
    finally:
        _context.reset(token)


def _actor() -> tuple[object | None, str, str | None, str]:
    ctx = _context.get()
    if ctx is None:
        return None, f"system:{_os_user()}", None, ""
    user = getattr(ctx.request, "user", None) if ctx.request is not None else None
    if user is not None and user.is_authenticated:
        return user, user.get_username(), ctx.ip_address, ctx.request_id
    return None, ctx.actor_name or "anonymous", ctx.ip_address, ctx.request_id


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def lock_chain() -> None:
    """Serialise appends so two writers never chain onto the same predecessor. The lock is held until the
    transaction ends, so it is taken before a writer writes or locks any row (`pre_save`, `pre_delete`,
    `core.locks`): with one lock order, chain then rows, a writer never holds a row while it waits for the chain
    another writer holds while it waits for that row (PostgreSQL would end one of them with a deadlock error).
    Writes of audited records therefore take turns on PostgreSQL, as they do on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
    # SQLite: transactions BEGIN IMMEDIATE (settings), so the open transaction already holds the lock.


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    organization=None,
    changes: dict | None = None,
    actor_name: str = "",
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction. A module's own steps are recorded
    as `workflow` with the step's name in `changes["step"]`, so the action column stays a closed set."""
    return record_many(
        [
            {
                "action": action,
                "obj": obj,
                "object_type": object_type,
                "object_id": object_id,
                "object_repr": object_repr,
                "organization": organization,
                "changes": changes,
                "actor_name": actor_name,
            }
        ]
    )[0]


def record_many(entries: list[dict]) -> list[AuditEvent]:
    """`record` for many events at once (each a dict of `record`'s keyword arguments, `action` included): the
    chain is locked and its last event read once, and the events are inserted together, in order. For jobs that
    change thousands of rows in one step (a nightly checklist update): one `record` each took most of their time."""
    from attt.core.scoping import organization_of

    user, name, ip, request_id = _actor()
    events = []
    for entry in entries:
        action, obj = entry["action"], entry.get("obj")
        if action not in AuditEvent.Action.values:
            raise ValueError(f"Unknown audit action {action!r}: use AuditEvent.Action (workflow + changes['step']).")
        object_type, object_id = entry.get("object_type", ""), entry.get("object_id", "")
        object_repr, organization = entry.get("object_repr", ""), entry.get("organization")
        if obj is not None:
            object_type = object_type or obj._meta.label_lower
            object_id = object_id or str(obj.pk)
            object_repr = object_repr or str(obj)[:255]
            if organization is None:
                org = organization_of(obj)
                organization = org if org is not None and org.pk is not None else None
        events.append(
            AuditEvent(
                actor=user,
                actor_name=entry.get("actor_name") or name,
                ip_address=ip,
                request_id=request_id,
                action=action,
                object_type=object_type,
                object_id=object_id,
                object_repr=object_repr[:255],
                organization_id=getattr(organization, "pk", None),
                changes=entry.get("changes") or {},
            )
        )
    if not events:
        return []
    with transaction.atomic():
        lock_chain()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        seq, prev_hash = (last["seq"], last["hash"]) if last else (0, GENESIS_HASH)
        now = timezone.now()  # read under the lock, so times never go back along the chain
        for event in events:
            seq += 1
            event.seq, event.prev_hash, event.timestamp = seq, prev_hash, now
            event.hash = prev_hash = event.compute_hash()
        AuditEvent.objects.bulk_create(events, batch_size=500)
    return events


@dataclass
class ChainReport:
    ok: bool
    checked: int
    head_seq: int | None
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""


def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk the chain from the start; report the first event whose link or content does not hold."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    last_seq = 0
    while True:
        # The first batch has no lower bound: an event slipped in below #1 is the chain's first and is reported.
        after = {"seq__gt": last_seq} if checked else {}
        events = list(AuditEvent.objects.filter(**after).order_by("seq")[:batch])
        if not events:
            break
        for event in events:
            if event.seq < expected_seq:
                return ChainReport(
                    False, checked, None, expected_prev, event.seq, f"event #{event.seq} comes before the chain's start"
                )
            if event.seq != expected_seq:
                return ChainReport(
                    False,
                    checked,
                    last_seq or None,
                    expected_prev,
                    expected_seq,
                    f"event #{expected_seq} is missing (next found is #{event.seq})",
                )
            if event.prev_hash != expected_prev:
                return ChainReport(
                    False,
                    checked,
                    last_seq or None,
                    expected_prev,
                    event.seq,
                    "link to the previous event does not match",
                )
            if event.compute_hash() != event.hash:
                return ChainReport(
                    False,
                    checked,
                    last_seq or None,
                    expected_prev,
                    event.seq,
                    "content does not match its hash (altered)",
                )
            expected_prev, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
            checked += 1
    return ChainReport(True, checked, last_seq or None, expected_prev)


# --- Automatic recording of model changes ----------------------------------------------------------


def is_audited(model: type[models.Model]) -> bool:
    """A model of ours whose rows are recorded. Django sends no row signals for a many-to-many link table's rows
    (its Collector leaves auto-created models out, and links are added in bulk): a link added or removed is
    recorded as a change of the record whose field it is (`_record_links`)."""
    return model.__module__.startswith("attt.") and model not in NOT_AUDITED and not model._meta.abstract


def snapshot(instance: models.Model) -> dict:
    data = {}
    skipped = IGNORED_FIELDS | set(getattr(instance, "audit_exclude", ()))
    for f in instance._meta.concrete_fields:
        if f.name in skipped:
            continue
        value = getattr(instance, f.attname)
        if f.name in SENSITIVE_FIELDS:
            value = HIDDEN if value else ""
        elif isinstance(value, uuid.UUID):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "name") and hasattr(value, "url"):  # file fields
            value = value.name
        data[f.attname] = value
    return data


def _raw_sensitive(instance: models.Model) -> dict:
    return {n: getattr(instance, n, None) for n in SENSITIVE_FIELDS if hasattr(instance, n)}


@receiver(pre_save)
def _remember_before(sender, instance, raw=False, **kwargs) -> None:
    if raw or not is_audited(sender):
        return
    lock_chain()  # before the row is written, and so the row read here is the one the save replaces
    if instance._state.adding:
        return
    old = sender._base_manager.filter(pk=instance.pk).first()
    instance._audit_before = (snapshot(old), _raw_sensitive(old)) if old is not None else None


@receiver(post_save)
def _record_save(sender, instance, created, raw=False, **kwargs) -> None:
    if raw or not is_audited(sender):
        return
    after = snapshot(instance)
    if created:
        record(AuditEvent.Action.CREATE, obj=instance, changes={"before": {}, "after": after})
        return
    before_info = getattr(instance, "_audit_before", None)
    instance._audit_before = None
    if before_info is None:
        return
    before, raw_before = before_info
    changed = {k for k in after if before.get(k) != after[k]}
    raw_after = _raw_sensitive(instance)
    changed |= {k for k in raw_after if raw_after[k] != raw_before.get(k)}
    if not changed:
        return
    record(
        AuditEvent.Action.UPDATE,
        obj=instance,
        changes={
            "before": {k: before.get(k) for k in sorted(changed)},
            "after": {k: after.get(k) for k in sorted(changed)},
        },
    )


@receiver(pre_delete)
def _lock_before_delete(sender, instance, **kwargs) -> None:
    if is_audited(sender):
        lock_chain()


@receiver(post_delete)
def _record_delete(sender, instance, **kwargs) -> None:
    if not is_audited(sender):
        return
    record(AuditEvent.Action.DELETE, obj=instance, changes={"before": snapshot(instance), "after": {}})


def _links_field(instance: models.Model, through: type[models.Model]) -> str | None:
    """The name, on `instance`'s side, of the many-to-many field whose link table is `through`."""
    for field in instance._meta.many_to_many:
        if field.remote_field.through is through:
            return field.name
    for relation in instance._meta.related_objects:
        if relation.many_to_many and relation.through is through:
            return relation.get_accessor_name()
    return None


def _linked_ids(instance: models.Model, name: str) -> list[str]:
    return sorted(str(pk) for pk in getattr(instance, name).values_list("pk", flat=True))


@receiver(m2m_changed)
def _record_links(sender, instance, action, **kwargs) -> None:
    """A many-to-many change (an inspection's team, a source's systems) as an update of the record whose field it
    is, with the linked ids before and after: the signals of the link table's rows would say nothing a reader
    can follow, and adding links fires none."""
    if not is_audited(type(instance)) or action not in {
        "pre_add",
        "pre_remove",
        "pre_clear",
        "post_add",
        "post_remove",
        "post_clear",
    }:
        return
    name = _links_field(instance, sender)
    if name is None:
        return
    if action.startswith("pre_"):
        lock_chain()  # before the link rows are written (one lock order)
        instance._audit_links = (name, _linked_ids(instance, name))
        return
    remembered = getattr(instance, "_audit_links", None)
    instance._audit_links = None
    if remembered is None or remembered[0] != name:
        return
    before, after = remembered[1], _linked_ids(instance, name)
    if before != after:
        record(AuditEvent.Action.UPDATE, obj=instance, changes={"before": {name: before}, "after": {name: after}})
