"""A system handed to another organisation takes its warnings along at once (registry's owner-change hook), on
every path that changes the owner: the edit page, the API, any save. Before, they moved only at the nightly
rematch, so the former owner kept seeing them until then and the new owner did not."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from attt.core.models import AuditEvent
from attt.core.services.organizations import merge
from attt.core.testing import make_user
from attt.registry.models import InformationSystem
from attt.registry.tests.factories import edit_form, make_system
from attt.vulns import services
from attt.vulns.models import VulnWarning
from attt.vulns.tests.factories import make_warning

pytestmark = pytest.mark.django_db


@pytest.fixture
def system(tree):
    return make_system(tree.dept_a, code="cong-dvc", name="Cổng dịch vụ công")


@pytest.fixture
def warnings(system):
    return [make_warning(system), make_warning(system, due_in=-2)]


@pytest.fixture
def bystander(tree):
    """A warning of another system of the same owner, which stays."""
    return make_warning(make_system(tree.dept_a))


@pytest.fixture
def mover(tree):
    """A national officer who may change systems of both provinces."""
    return make_user(tree.root, "system_owner", username="chu-quan-quoc-gia")


def visible_to(api, user, warning) -> bool:
    """Whether `user` gets the warning through the API (200) rather than 404."""
    api.force_authenticate(user)
    status = api.get(reverse("api:vulnwarning-detail", args=[warning.pk])).status_code
    assert status in (200, 404), status
    return status == 200


def assert_moved(api, tree, warnings, *, to, bystander) -> None:
    former = make_user(tree.dept_a, "system_owner", username="owner-a")
    new = make_user(to, "system_owner", username="owner-new")
    assert visible_to(api, former, bystander) and not visible_to(api, new, bystander)
    for warning in warnings:
        warning.refresh_from_db()
        assert warning.organization == to
        assert not visible_to(api, former, warning)
        assert visible_to(api, new, warning)
    steps = AuditEvent.objects.filter(object_type="vulns.vulnwarning", changes__step="follow_owner")
    assert sorted(e.object_id for e in steps) == sorted(str(w.pk) for w in warnings)
    for event in steps:
        assert event.organization_id == to.pk
        assert event.changes["before"] == {"organization_id": str(tree.dept_a.pk)}
        assert event.changes["after"] == {"organization_id": str(to.pk)}


def test_the_edit_page_moves_the_warnings_at_once(client, api, tree, system, warnings, bystander, mover):
    client.force_login(mover)
    url = reverse("registry:system_edit", args=[system.pk])
    response = client.post(url, edit_form(system, organization=str(tree.dept_b.pk)))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_moved(api, tree, warnings, to=tree.dept_b, bystander=bystander)
    # and the new owner's officer reaches it on the warning's page, the former owner's does not
    client.force_login(make_user(tree.dept_a, "system_owner", username="page-a"))
    assert client.get(reverse("vulns:vulnwarning_detail", args=[warnings[0].pk])).status_code == 404
    client.force_login(make_user(tree.dept_b, "system_owner", username="page-b"))
    assert client.get(reverse("vulns:vulnwarning_detail", args=[warnings[0].pk])).status_code == 200


@pytest.mark.parametrize("method", ["patch", "put"])
def test_the_api_moves_the_warnings_at_once(api, tree, system, warnings, bystander, mover, method):
    api.force_authenticate(mover)
    url = reverse("api:registry-system-detail", args=[system.pk])
    body = api.get(url).json() if method == "put" else {}
    body = {k: v for k, v in body.items() if k not in {"id", "counts", "created_at", "updated_at"}}
    response = getattr(api, method)(url, {**body, "organization": str(tree.dept_b.pk)}, format="json")
    assert response.status_code == 200, response.content
    assert_moved(api, tree, warnings, to=tree.dept_b, bystander=bystander)


def test_a_save_by_any_service_moves_them_within_its_subtree_too(api, tree, system, warnings):
    system.organization = tree.operator_a  # a unit of the former owner: its officer still sees them from above
    system.save()
    for warning in warnings:
        warning.refresh_from_db()
        assert warning.organization == tree.operator_a
    assert AuditEvent.objects.filter(changes__step="follow_owner").count() == 2


def test_the_import_never_changes_an_owner_so_it_moves_nothing(api, tree, system, warnings, mover):
    """Rows are matched by (owner, code): a row naming another owner registers a new system there and leaves the
    existing one, and its warnings, with its owner."""
    api.force_authenticate(mover)
    text = f"owner,code,name\n{tree.dept_b.code},{system.code},Cổng dịch vụ công\n"
    upload = SimpleUploadedFile("systems.csv", text.encode(), content_type="text/csv")
    response = api.post(reverse("api:registry-system-import-file"), {"file": upload}, format="multipart")
    assert response.status_code == 200 and response.json()["created"] == 1, response.content
    assert InformationSystem.objects.get(pk=system.pk).organization == tree.dept_a
    assert set(VulnWarning.objects.values_list("organization", flat=True)) == {tree.dept_a.pk}
    assert not AuditEvent.objects.filter(changes__step="follow_owner").exists()


def test_a_change_rolled_back_leaves_the_warnings_where_they_were(tree, system, warnings):
    with pytest.raises(RuntimeError), transaction.atomic():
        system.organization = tree.dept_b
        system.save()
        assert VulnWarning.objects.filter(organization=tree.dept_b).count() == 2  # moved inside the transaction
        raise RuntimeError("a later step of the same request failed")
    assert set(VulnWarning.objects.values_list("organization", flat=True)) == {tree.dept_a.pk}
    assert not AuditEvent.objects.filter(changes__step="follow_owner").exists()


def test_a_refused_edit_page_leaves_the_warnings_where_they_were(client, tree, system, warnings, mover):
    """The page's request is one transaction: a hook that fails after the warnings moved undoes the move with the
    owner's change (here a second, failing hook)."""
    from attt.registry import services as registry

    def refuse(system, former, new):
        raise RuntimeError("refused")

    registry.register_owner_change(refuse)
    try:
        client.force_login(mover)
        client.raise_request_exception = False
        url = reverse("registry:system_edit", args=[system.pk])
        response = client.post(url, edit_form(system, organization=str(tree.dept_b.pk)))
        assert response.status_code == 500
    finally:
        registry._owner_change_callbacks.remove(refuse)
    assert InformationSystem.objects.get(pk=system.pk).organization == tree.dept_a
    assert set(VulnWarning.objects.values_list("organization", flat=True)) == {tree.dept_a.pk}


def test_a_save_that_keeps_the_owner_moves_nothing(tree, system, warnings):
    system.name = "Cổng dịch vụ công mới"
    system.save()
    assert not AuditEvent.objects.filter(changes__step="follow_owner").exists()
    assert services.follow_new_owner(system, tree.dept_a.pk, tree.dept_a.pk) == 0


def test_a_merger_moves_the_warnings_itself_without_the_hook(tree, system, warnings):
    merge(tree.dept_a, tree.dept_b)
    assert set(VulnWarning.objects.values_list("organization", flat=True)) == {tree.dept_b.pk}
    assert InformationSystem.objects.get(pk=system.pk).organization == tree.dept_b
    assert not AuditEvent.objects.filter(changes__step="follow_owner").exists()


def test_the_nightly_rematch_still_catches_an_owner_written_without_a_save(tree, system, warnings):
    """The safety net: an UPDATE of the system's row calls no hook."""
    InformationSystem.objects.filter(pk=system.pk).update(organization=tree.dept_b)
    assert VulnWarning.objects.filter(organization=tree.dept_a).count() == 2
    services.rematch_all(notify=False)
    assert set(VulnWarning.objects.values_list("organization", flat=True)) == {tree.dept_b.pk}
    moves = AuditEvent.objects.filter(object_type="vulns.vulnwarning", changes__step="follow_owner")
    assert sorted(e.object_id for e in moves) == sorted(str(w.pk) for w in warnings)  # audited as the hook does
    services.rematch_all(notify=False)
    assert moves.count() == 2  # nothing astray any more


def test_the_hook_called_on_its_own_takes_the_chain_before_the_warnings(tree, system, warnings):
    """Inside a save the chain is held already; a caller of its own (a transaction that has taken nothing yet) is
    kept to the one lock order too (the test's lock-order check fails a transaction that updates rows first)."""
    with transaction.atomic():
        assert services.follow_new_owner(system, tree.dept_a.pk, tree.dept_b.pk) == 2
    assert set(VulnWarning.objects.values_list("organization", flat=True)) == {tree.dept_b.pk}


def test_the_new_owner_is_told_of_the_open_warnings_it_received(tree, system, warnings):
    """The warnings appeared in the new owner's list without a word: nobody there knew to look."""
    from attt.core.models import Notification
    from attt.vulns.models import WarningStatus

    VulnWarning.objects.filter(pk=warnings[1].pk).update(status=WarningStatus.PATCHED)  # closed: not mentioned
    former = make_user(tree.dept_a, "system_owner", username="owner-a-told")
    new = make_user(tree.dept_b, "system_owner", username="owner-b-told")
    system.organization = tree.dept_b
    system.save()
    (told,) = Notification.objects.filter(recipient=new)
    assert "1" in told.title and system.name in told.title and told.link.endswith(f"?q={system.code}")
    assert warnings[0].vulnerability.cve_id in told.body and warnings[1].vulnerability.cve_id not in told.body
    assert not Notification.objects.filter(recipient=former).exists()
    system.name = "Cổng dịch vụ công (mới)"
    system.save()  # the owner kept: nobody is told again
    assert Notification.objects.filter(recipient=new).count() == 1
