"""An organisation's administrator manages its people, not the accounts above them: an account with a role beyond
the people they manage (at the national level) or a superuser's cannot be changed, switched off or deleted by
them, through the API or the pages; an account's e-mail (its single sign-on identity) is changed only by someone
who could grant its roles; and no one sets another person's password after it was made."""

import pytest
from django.contrib.auth import get_user_model

from attt.core.models import Role, RoleAssignment
from attt.core.scoping import forget_scope
from attt.core.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(tree):
    admin = make_user(tree.province_a, "org_admin", username="admin-a")
    colleague = make_user(tree.dept_a, "security_officer", username="officer-a")
    national = make_user(tree.dept_a, "security_officer", username="officer-national")
    RoleAssignment.objects.create(user=national, role=Role.objects.get(code="national_admin"), organization=tree.root)
    forget_scope(national)
    superuser = get_user_model().objects.create_superuser("root-a", "root@example.invalid", "x")
    superuser.organization = tree.dept_a
    superuser.save()
    return admin, colleague, national, superuser


def test_api_refuses_changing_or_deleting_an_account_that_holds_more(api, accounts):
    admin, colleague, national, superuser = accounts
    api.force_authenticate(admin)
    for above in (national, superuser):
        url = f"/api/v1/users/{above.pk}/"
        assert api.patch(url, {"email": "taken@example.invalid"}, format="json").status_code == 403
        assert api.patch(url, {"is_active": False}, format="json").status_code == 403
        assert api.delete(url).status_code == 403
        above.refresh_from_db()
        assert above.is_active and above.email != "taken@example.invalid"
    same = api.patch(f"/api/v1/users/{colleague.pk}/", {"job_title": "Chuyên viên"}, format="json")
    assert same.status_code == 200, same.content
    assert api.patch(f"/api/v1/users/{colleague.pk}/", {"is_active": False}, format="json").status_code == 200


def test_an_email_is_changed_only_by_someone_who_could_grant_the_accounts_roles(api, tree, accounts):
    """With single sign-on the e-mail is who signs in: the province administrator cannot hand a security
    officer's account (rights it may not grant) to another mailbox, but may correct a leader's."""
    admin, colleague, _national, _superuser = accounts
    api.force_authenticate(admin)
    moved = api.patch(f"/api/v1/users/{colleague.pk}/", {"email": "other@example.invalid"}, format="json")
    assert moved.status_code == 403
    assert api.patch(f"/api/v1/users/{colleague.pk}/", {"email": colleague.email}, format="json").status_code == 200
    reader = make_user(tree.dept_a, "leader", username="leader-a")
    fixed = api.patch(f"/api/v1/users/{reader.pk}/", {"email": "leader-a@example.invalid"}, format="json")
    assert fixed.status_code == 200, fixed.content


def test_api_sets_a_password_only_when_the_account_is_made(api, accounts):
    admin, colleague, _national, _superuser = accounts
    api.force_authenticate(admin)
    refused = api.patch(f"/api/v1/users/{colleague.pk}/", {"password": "Mật-khẩu-mới-2026!"}, format="json")
    assert refused.status_code == 400 and "password" in refused.json()["errors"]
    colleague.refresh_from_db()
    assert not colleague.check_password("Mật-khẩu-mới-2026!")


def test_pages_refuse_editing_or_deleting_an_account_that_holds_more(client, accounts):
    admin, colleague, national, superuser = accounts
    client.force_login(admin)
    for above in (national, superuser):
        assert client.get(f"/core/users/{above.pk}/edit/").status_code == 403
        assert client.post(f"/core/users/{above.pk}/delete/").status_code == 403
        assert get_user_model().objects.filter(pk=above.pk, is_active=True).exists()
    page = client.get(f"/core/users/{colleague.pk}/edit/")
    assert page.status_code == 200
    form = {**page.context["form"].initial, "organization": str(colleague.organization_id)}
    form = {k: v for k, v in form.items() if v is not None}
    form["job_title"] = "Chuyên viên chính"
    assert client.post(f"/core/users/{colleague.pk}/edit/", form).status_code == 302
    form["email"] = "other@example.invalid"
    assert client.post(f"/core/users/{colleague.pk}/edit/", form).status_code == 403
    assert get_user_model().objects.get(pk=colleague.pk).email != "other@example.invalid"


def test_a_national_administrator_manages_province_accounts(api, tree, accounts):
    _admin, colleague, _national, _superuser = accounts
    api.force_authenticate(make_user(tree.root, "national_admin", username="admin-national"))
    assert api.patch(f"/api/v1/users/{colleague.pk}/", {"is_active": False}, format="json").status_code == 200
