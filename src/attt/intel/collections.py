"""Collections: who may read or write one, which TLP levels a reader may receive, and storing STIX objects
in them (what TAXII and `publish` both use)."""

from __future__ import annotations

import datetime
import uuid
from typing import NamedTuple

from django.db import IntegrityError, models, transaction
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from attt.core import audit, scoping
from attt.core.locks import lock_current
from attt.intel import stix
from attt.intel.models import Collection, CollectionGrant, StixObject, TaxiiStatus
from attt.intel.sharing import TLP_ORDER, strictest

MAX_OBJECT_BYTES = 1024 * 1024
MAX_TYPE_LENGTH = 250  # STIX 2.1: a type is 3 to 250 characters
MAX_ID_LENGTH = MAX_TYPE_LENGTH + 2 + 36  # <type>--<UUID>


def default_collection(organization) -> Collection:
    """The organisation's sharing collection, created on first use (two first uses at once: one creates it, the
    other finds it, as the one-default constraint refuses a second)."""
    found = Collection.objects.filter(organization=organization, is_default=True).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return Collection.objects.create(
                organization=organization,
                title=_("Shared by %(org)s") % {"org": organization.name},
                description=_("Reports and indicators %(org)s shares.") % {"org": organization.name},
                is_default=True,
            )
    except IntegrityError:
        return Collection.objects.get(organization=organization, is_default=True)


def _reaching(org, via: str = "") -> models.Q:
    """The grants that reach `org`: made to it, or with their subtree to it or an organisation above it.
    `via` prefixes the lookups (e.g. "grants__" from a collection)."""
    return models.Q(**{f"{via}grantee": org}) | models.Q(
        **{f"{via}grantee__in": org.lineage_ids, f"{via}include_subtree": True}
    )


def _grants(user, collection: Collection) -> list[CollectionGrant]:
    loaded = getattr(collection, "grants_reaching", None)  # `with_rights`
    if loaded is not None:
        return loaded
    org = getattr(user, "organization", None)
    if org is None:
        return []
    return list(collection.grants.filter(_reaching(org)))


def with_rights(user, queryset: models.QuerySet[Collection]) -> models.QuerySet[Collection]:
    """`queryset` with what `rights` reads loaded alongside (the owner, the grants that reach the user): a list
    of collections then costs two queries in all rather than two per collection (ten thousand organisations each
    have a default collection a national user may list)."""
    queryset = queryset.select_related("organization")
    org = getattr(user, "organization", None)
    if org is None:
        return queryset
    reaching = CollectionGrant.objects.filter(_reaching(org))
    return queryset.prefetch_related(models.Prefetch("grants", queryset=reaching, to_attr="grants_reaching"))


def rights(user, collection: Collection) -> tuple[bool, bool, str | None]:
    """(can read, can write, highest TLP served) for a user on a collection.

    Holders of `intel.collection.view` on the owner read it; of `intel.collection.write` write it. They
    receive up to TLP:AMBER+STRICT, and TLP:RED only when they work in the owning organisation itself.
    Members of a granted organisation (or below it) read/write as granted, up to the grant's TLP."""
    read = scoping.can(user, "view", collection)
    write = scoping.can(user, "write", collection)
    ceiling = None
    if read:
        ceiling = "red" if getattr(user, "organization_id", None) == collection.organization_id else "amber+strict"
    if scoping.get_scope(user).has_anywhere("intel.collection.view"):
        for grant in _grants(user, collection):
            read = read or grant.can_read
            write = write or grant.can_write
            if grant.can_read and (ceiling is None or TLP_ORDER[grant.max_tlp] > TLP_ORDER[ceiling]):
                ceiling = grant.max_tlp
    return read, write, ceiling if read else None


def accessible(user) -> models.QuerySet[Collection]:
    """Collections a user may read or write: in scope, or granted to the user's organisation subtree."""
    own = scoping.visible(user, Collection.objects.all(), "view")
    org = getattr(user, "organization", None)
    if org is None or not scoping.get_scope(user).has_anywhere("intel.collection.view"):
        return own
    granted = Collection.objects.filter(_reaching(org, "grants__"))
    return (own | granted).distinct()


def served_markings(ceiling: str | None) -> list[str]:
    """The markings of the objects served up to TLP `ceiling` (from `rights`): "" for unmarked ones, then each
    level no stricter than it; none without a ceiling."""
    if ceiling is None:
        return []
    return ["", *(level for level, rank in TLP_ORDER.items() if rank <= TLP_ORDER[ceiling])]


def tlp_allowed(objects: models.QuerySet[StixObject], ceiling: str | None) -> models.QuerySet[StixObject]:
    return objects.filter(tlp__in=served_markings(ceiling))


def _version(obj: dict, added: datetime.datetime) -> datetime.datetime:
    text = obj.get("modified") or obj.get("created")
    return stix.parse_timestamp(text, "modified time") if text else added


def check_object(obj: object) -> dict:
    """Refuse what is not a STIX 2.1 object we can store; stix2-validator decides on the rest."""
    from stix2validator import ValidationOptions, validate_instance

    if not isinstance(obj, dict):
        raise ValueError("The object is not a JSON object.")
    if not isinstance(obj.get("type"), str) or not isinstance(obj.get("id"), str):
        raise ValueError("The object has no type or id.")
    if len(obj["type"]) > MAX_TYPE_LENGTH:
        raise ValueError(f"The object type is longer than {MAX_TYPE_LENGTH} characters (the STIX 2.1 limit).")
    if len(obj["id"]) > MAX_ID_LENGTH:
        raise ValueError(f"The object id is longer than {MAX_ID_LENGTH} characters (a type, “--” and a UUID).")
    if len(str(obj)) > MAX_OBJECT_BYTES:
        raise ValueError("The object is larger than 1 MB.")
    if reason := stix.unstorable(obj):
        raise ValueError(reason)
    if obj.get("spec_version", "2.1") != "2.1":
        raise ValueError("Only STIX 2.1 objects are accepted.")
    try:
        result = validate_instance(obj, ValidationOptions(version="2.1"))
    except Exception as exc:
        raise ValueError(f"The object could not be validated: {str(exc)[:300]}") from None
    if not result.is_valid:
        raise ValueError("; ".join(str(e.message)[:200] for e in result.errors[:3]) or "The object is not valid.")
    return obj


class Pushed(NamedTuple):
    """What a push did: its status, the objects stored before whose TLP a marking definition of this push raised
    (`marked_late`), and the TLP levels of the producer's own definitions its objects refer to (`tlp_markings`),
    which the indicators they give are imported with (`store.import_objects`)."""

    status: TaxiiStatus
    raised: list[dict]
    markings: dict[str, str]


@transaction.atomic
def add_objects(collection: Collection, objects: list) -> Pushed:
    """Store every valid object (a new version when its `modified` is new; the same version again is a
    success without a change) and record the failures; the status says which is which.

    Pushes into one collection take turns (a row lock on the collection, taken after validating and before the
    first write): an object without a version (SCOs, markings) is versioned by the time it arrives, so two
    pushes of the same one at once would each find nothing stored and add a version of their own."""
    now = timezone.now()
    successes, failures, valid = [], [], []
    for position, obj in enumerate(objects):
        object_id = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else ""
        if not object_id or stix.unstorable(object_id):
            object_id = f"#{position}"  # the status names it by its place in the request
        try:
            check_object(obj)
            valid.append((obj, _version(obj, now)))
        except ValueError as exc:
            failures.append({"id": object_id[:300], "message": str(exc)})
    # Levels from every object pushed, refused ones too: the STIX validator refuses TLP definitions under ids of a
    # producer's own, yet what they mark is no less restricted for that.
    defined = stix.marking_levels(objects)
    if valid or defined:
        lock_current(collection)
    raised = marked_late(collection, defined)
    markings = tlp_markings(collection, [*objects, *raised], defined)
    for obj, version in valid:
        if not (obj.get("modified") or obj.get("created")):
            # SCOs and markings carry no version: the same content again is the same object.
            same = StixObject.objects.filter(collection=collection, stix_id=obj["id"], data=obj).first()
            if same:
                successes.append({"id": obj["id"], "version": stix.timestamp(same.version, exact=True)})
                continue
        StixObject.objects.get_or_create(
            collection=collection,
            stix_id=obj["id"],
            version=version,
            defaults={
                "organization_id": collection.organization_id,
                "type": obj["type"],
                "spec_version": obj.get("spec_version", "2.1"),
                "date_added": now,
                "tlp": stix.tlp_of(obj, markings) or "",
                "data": obj,
            },
        )
        successes.append({"id": obj["id"], "version": stix.timestamp(version, exact=True)})
    status = TaxiiStatus.objects.create(
        organization_id=collection.organization_id,
        collection=collection,
        request_timestamp=now,
        successes=successes,
        failures=failures,
    )
    return Pushed(status, raised, markings)


def tlp_markings(collection: Collection, objects: list, defined: dict[str, str]) -> dict[str, str]:
    """The TLP levels of the marking definitions `objects` refer to under their producer's own ids: `defined`
    among them (`stix.marking_levels`), or pushed to the collection before."""
    wanted = {ref for obj in objects if isinstance(obj, dict) for ref in stix.marking_refs(obj)}
    wanted -= defined.keys() | stix.TLP_BY_MARKING.keys()
    if not wanted:
        return defined
    stored = StixObject.objects.filter(collection=collection, type="marking-definition", stix_id__in=wanted)
    return stix.marking_levels(stored.values_list("data", flat=True)) | defined


def marked_late(collection: Collection, markings: dict[str, str]) -> list[dict]:
    """Objects stored before the TLP marking definition they refer to arrived (`markings`: a push's own, before
    its objects are stored) were stored as less restricted than their producer marked them: their TLP is raised
    now (the versions a reader is served) and the latest of each is returned, for the indicators they gave to be
    raised too (`store.import_objects`). Only the rows whose text names one of the definitions are read (a
    producer may send its definition with every push)."""
    markings = {ref: level for ref, level in markings.items() if level != "clear"}  # nothing to raise to
    if not markings:
        return []
    naming = models.Q()
    for ref in markings:
        naming |= models.Q(text__contains=ref)
    stored = (
        StixObject.objects.filter(collection=collection)
        .exclude(type="marking-definition")
        .exclude(tlp="red")
        .annotate(text=Cast("data", models.TextField()))
        .filter(naming)
    )
    raised: dict[str, dict] = {}
    for row in stored.only("pk", "stix_id", "tlp", "data").order_by("stix_id", "version").iterator(chunk_size=2000):
        level = strictest(row.tlp or None, stix.tlp_of(row.data, markings))
        if level and level != row.tlp:
            row.tlp = level
            row.save(update_fields=["tlp"])
            raised[row.stix_id] = row.data
    return list(raised.values())


def grant(collection: Collection, grantee, **rights) -> CollectionGrant:
    """Open a collection to another organisation, or change its rights (`include_subtree`, `can_read`,
    `can_write`, `max_tlp`; a new grant takes the model's defaults for those not given, a changed one keeps
    them). The grant is owned by the collection's organisation."""
    audit.lock_chain()  # update_or_create locks the row before its audited save
    found, _created = CollectionGrant.objects.update_or_create(
        collection=collection, grantee=grantee, defaults={"organization": collection.organization, **rights}
    )
    return found


def owned(organization, key: str) -> Collection:
    """One of the organisation's collections by id or alias."""
    found = Collection.objects.filter(organization=organization)
    try:
        return found.get(models.Q(pk=uuid.UUID(key)))
    except (ValueError, Collection.DoesNotExist):
        pass
    try:
        return found.get(alias=key)
    except Collection.DoesNotExist:
        raise ValueError(f"{organization} has no collection “{key}”.") from None
