import itertools

import pytest
from django.core.management import call_command
from django.db import connection

from attt.core import audit
from attt.core.models import AuditEvent, Organization
from attt.core.services.organizations import create_organization
from attt.core.testing import make_user


def events_for(obj):
    return list(AuditEvent.objects.filter(object_id=str(obj.pk)).order_by("seq"))


def test_create_update_delete_are_recorded_with_before_and_after(tree):
    org = create_organization(parent=tree.province_a, code="x", name="Old name", kind="unit")
    org.name = "New name"
    org.save()
    org.save()  # no change: no event
    org_id = org.pk
    org.delete()
    kinds = [e.action for e in AuditEvent.objects.filter(object_id=str(org_id)).order_by("seq")]
    assert kinds == ["create", "update", "delete"]
    update = AuditEvent.objects.get(object_id=str(org_id), action="update")
    assert update.changes == {"before": {"name": "Old name"}, "after": {"name": "New name"}}
    assert update.organization_id == org_id
    delete = AuditEvent.objects.get(object_id=str(org_id), action="delete")
    assert delete.changes["before"]["code"] == "x"


def test_deleting_people_and_organisations_keeps_the_chain(tree, national_admin):
    user = make_user(tree.dept_b, "leader")
    user.delete()
    org = create_organization(parent=tree.province_b, code="tmp", name="Tạm", kind="unit")
    org.delete()
    assert audit.verify_chain().ok


def test_secrets_never_reach_the_log(tree):
    user = make_user(tree.province_a)
    user.set_password("another-long-password")
    user.totp_secret = "JBSWY3DPEHPK3PXP"
    user.save()
    event = events_for(user)[-1]
    assert event.changes["after"]["password"] == audit.HIDDEN
    assert event.changes["after"]["totp_secret"] == audit.HIDDEN
    assert "JBSWY3DPEHPK3PXP" not in str(AuditEvent.objects.values_list("changes", flat=True))


def test_chain_verifies_and_links(tree):
    report = audit.verify_chain()
    assert report.ok and report.checked == AuditEvent.objects.count() > 5
    events = list(AuditEvent.objects.order_by("seq"))
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert report.head_hash == events[-1].hash


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_altered_event_is_found(tree):
    target = AuditEvent.objects.order_by("seq")[3]
    _tamper("UPDATE core_auditevent SET object_repr = %s WHERE seq = %s", ["forged", target.seq])
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_seq == target.seq
    assert "altered" in report.reason


def test_rehashed_event_breaks_the_next_link(tree):
    """A forger who recomputes the altered event's own hash still breaks the following link."""
    target = AuditEvent.objects.order_by("seq")[2]
    target.object_repr = "forged"
    new_hash = target.compute_hash()
    _tamper("UPDATE core_auditevent SET object_repr = %s, hash = %s WHERE seq = %s", ["forged", new_hash, target.seq])
    report = audit.verify_chain()
    assert not report.ok and report.broken_seq == target.seq + 1


def test_deleted_event_is_found(tree):
    target = AuditEvent.objects.order_by("seq")[4]
    _tamper("DELETE FROM core_auditevent WHERE seq = %s", [target.seq])
    report = audit.verify_chain()
    assert not report.ok and report.broken_seq == target.seq
    assert "missing" in report.reason


def test_cli_verify_exit_codes(tree, capsys):
    call_command("audit", "verify")
    assert "OK:" in capsys.readouterr().out
    _tamper("UPDATE core_auditevent SET action = %s WHERE seq = %s", ["delete", 2])
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify")
    assert exit_info.value.code == 1
    assert "BROKEN at event #2" in capsys.readouterr().out


def test_cli_detects_truncated_tail(tree, capsys):
    call_command("audit", "verify")
    head = capsys.readouterr().out.split()[-1]
    last = AuditEvent.objects.order_by("-seq").first()
    _tamper("DELETE FROM core_auditevent WHERE seq = %s", [last.seq])
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="removed or replaced"):
        call_command("audit", "verify", "--expect-head", head)


def test_a_failed_write_request_leaves_neither_change_nor_event(tree, national_admin, api):
    api.force_authenticate(national_admin)
    before = AuditEvent.objects.count()
    response = api.post(
        "/api/v1/organizations/",
        {"code": "bad code!", "name": "x", "kind": "unit", "parent": str(tree.root.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert AuditEvent.objects.count() == before
    assert not Organization.objects.filter(name="x").exists()


def test_request_actor_and_address_are_recorded(tree, national_admin, client):
    client.force_login(national_admin)
    response = client.post(
        f"/core/organizations/{tree.dept_a.pk}/edit/",
        {"code": "so-a", "name": "Sở A mới", "kind": "department"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(object_id=str(tree.dept_a.pk), action="update").latest("seq")
    assert event.actor_id == national_admin.pk
    assert event.actor_name == "national-admin"
    assert event.ip_address == "10.1.2.3"
    assert event.request_id


def test_unknown_actions_are_refused(tree):
    """Modules record their steps as `workflow` + changes['step']; a free-form action would not fit the
    column on PostgreSQL and would split the log's filters."""
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit.record("plans.something_long", object_type="x")


def test_many_events_recorded_at_once_chain_in_order_and_verify(tree):
    """`record_many` (a nightly job's thousands of changes) links each event to the one before, as one `record`
    each would, and an unknown action in the list writes none of them."""
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit.record_many([{"action": "update", "obj": tree.dept_a}, {"action": "bogus", "object_type": "x"}])
    assert AuditEvent.objects.count() == before
    orgs = [tree.dept_a, tree.dept_b] * 600
    written = audit.record_many([{"action": "update", "obj": o, "changes": {"n": n}} for n, o in enumerate(orgs)])
    assert len(written) == 1200 and [e.seq for e in written] == list(range(written[0].seq, written[0].seq + 1200))
    assert AuditEvent.objects.get(seq=written[1].seq).organization_id == tree.dept_b.pk
    assert audit.record("update", obj=tree.dept_a).prev_hash == written[-1].hash
    report = audit.verify_chain()
    assert report.ok and report.checked == before + 1201


def test_an_event_written_after_another_writer_held_the_chain_is_not_dated_before_it(tree, monkeypatch):
    """A writer that waited for the chain's lock while another appended is dated after that one: its time is
    read under the lock, so time never goes back along the chain (an inspector reads the log in order)."""
    lock_chain, calls = audit.lock_chain, []

    def another_writer_first():
        calls.append(1)
        if len(calls) == 1:  # mine asks for the lock; the other writer, holding it, appends first
            audit.record("update", obj=tree.dept_b, changes={"by": "the other writer"})
        lock_chain()

    monkeypatch.setattr(audit, "lock_chain", another_writer_first)
    mine = audit.record("update", obj=tree.dept_a)
    other = AuditEvent.objects.get(seq=mine.seq - 1)
    assert other.changes == {"by": "the other writer"}
    assert other.timestamp <= mine.timestamp
