"""Test helpers shared by every module's tests: a small organisation tree and users with roles.

Loaded as a pytest plugin from the repository's conftest.py.
"""

import contextlib
import re
import threading
import time
from dataclasses import dataclass

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.utils import translation

from attt.core.models import Organization, Role, RoleAssignment, User
from attt.core.permissions import sync_built_in_roles
from attt.core.scoping import forget_scope
from attt.core.services.organizations import create_organization

PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class QueryPlan:
    """The database's plan for a query, for tests that a list reads an index in order rather than sorting every
    row in scope: `sorts` (a sort step: SQLite's TEMP B-TREE, PostgreSQL's Sort nodes) and `uses(index)`."""

    text: str
    vendor: str

    @property
    def sorts(self) -> bool:
        return "TEMP B-TREE" in self.text if self.vendor == "sqlite" else "Sort" in self.text

    def uses(self, index: str) -> bool:
        return f" {index}" in self.text


# --- Browser tests (tests/browser): what a journey through the pages does again and again ----------------------


def save_page_form(page) -> None:
    """In a browser test, submit the page's edit form and wait for the next page (a list page's search form
    has role=search and is left alone)."""
    with page.expect_navigation():
        page.locator("main form:not([role=search]) button[type=submit]").first.click()


def saved(page, model: type, **lookup):
    """Submit the page's edit form; the record it wrote is the `model` matching `lookup`, and its page is the one
    shown."""
    save_page_form(page)
    record = model.objects.get(**lookup)
    assert page.url.endswith(record.get_absolute_url())
    return record


def fill(form, **fields: str | list[str]) -> None:
    """Fill a form's fields by their names: a text box's text, or a select's option(s)."""
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def open_new_form(page, path: str, heading: str, form_heading: str):
    """Open the list at `path` and follow its add button ("Thêm mới") to the empty form, which is returned."""
    from playwright.sync_api import expect

    page.goto(path)
    expect(page.locator("main h1")).to_have_text(heading)
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name="Thêm mới", exact=True).click()
    expect(page.locator("main h1")).to_have_text(form_heading)
    return page.locator("main form:not([role=search])")


def filter_list(page, **fields: str | list[str]) -> None:
    """Fill a list page's search form (`q`, the filters, by name) and apply it."""
    form = page.locator("main form[role=search]")
    fill(form, **fields)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def rows(page):
    """The rows of the page's (first) table body."""
    return page.locator("main table tbody tr")


def vi(choice) -> str:
    """A choice's label as the browser reads it: in Vietnamese, the site's default language."""
    with translation.override("vi"):
        return str(choice.label)


def query_plan(queryset) -> QueryPlan:
    """SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN with sequential scans, bitmap scans and sorts priced
    out: a test's tables are tiny, and PostgreSQL would read them whole and sort them whatever the indexes, so the
    plan shows instead whether an index can give the rows in order (it still sorts when none can)."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return QueryPlan(" | ".join(str(row[-1]) for row in cursor.fetchall()), "sqlite")
        for setting in ("seqscan", "bitmapscan", "sort", "incremental_sort"):
            cursor.execute(f"SET LOCAL enable_{setting} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return QueryPlan(" | ".join(row[0].strip() for row in cursor.fetchall()), connection.vendor)


@dataclass
class Tree:
    """root ─┬─ province_a ── dept_a ── operator_a
    ├─ province_b ── dept_b
    └─ ministry"""

    root: Organization
    province_a: Organization
    dept_a: Organization
    operator_a: Organization
    province_b: Organization
    dept_b: Organization
    ministry: Organization


def build_tree() -> Tree:
    sync_built_in_roles()
    root = create_organization(parent=None, code="root", name="Cơ quan quốc gia", kind="national_authority")
    pa = create_organization(parent=root, code="tinh-a", name="Tỉnh A", kind="province")
    da = create_organization(parent=pa, code="so-a", name="Sở A", kind="department")
    oa = create_organization(parent=da, code="tt-a", name="Trung tâm A", kind="operator")
    pb = create_organization(parent=root, code="tinh-b", name="Tỉnh B", kind="province")
    db = create_organization(parent=pb, code="so-b", name="Sở B", kind="department")
    mi = create_organization(parent=root, code="bo-m", name="Bộ M", kind="ministry")
    return Tree(root, pa, da, oa, pb, db, mi)


def make_user(
    organization: Organization | None,
    role: str | None = None,
    *,
    username: str | None = None,
    where: Organization | None = None,
    **fields,
) -> User:
    """A user working at `organization`, holding `role` there (or on `where`)."""
    username = username or f"{role or 'user'}-{(organization.code if organization else 'none')}"
    user = User(username=username, organization=organization, email=f"{username}@example.invalid", **fields)
    user.set_password(PASSWORD)
    user.save()
    if role:
        RoleAssignment.objects.create(user=user, role=Role.objects.get(code=role), organization=where or organization)
        forget_scope(user)
    return user


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: request throttles count per user id, and a test database hands the
    same ids out again, so one test's requests would count against the next test's user."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _own_media(settings, tmp_path):
    """Uploaded files go to the test's own folder, never to the working copy's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tree(db) -> Tree:
    return build_tree()


@pytest.fixture
def national_admin(tree) -> User:
    return make_user(tree.root, "national_admin", username="national-admin")


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


def stored_copy(obj):
    """Another copy of the record as stored now: what another request, a job or a page loads."""
    return type(obj)._base_manager.get(pk=obj.pk)


def shown_version(response) -> str:
    """The record version an edit page (or a row of one) sends back with its form (`core.locks.VERSION_FIELD`)."""
    from attt.core.locks import VERSION_FIELD

    found = re.search(rf'name="{VERSION_FIELD}" value="([^"]*)"', response.content.decode())
    assert found, "the page has no version input"
    return found[1]


def read_meanwhile(monkeypatch, change, view: type | None = None) -> None:
    """Run `change()` (another person's step, a job) right after a view has read the record a request changes,
    and before it has locked it: what it wrote must stay. `view`: an edit page's class (default: every API
    view)."""
    from rest_framework.generics import GenericAPIView

    owner = view or GenericAPIView
    read = owner.get_object

    def then_change(self):
        obj = read(self)
        with in_another_transaction():
            change()
        return obj

    monkeypatch.setattr(owner, "get_object", then_change)


# --- The one lock order, checked in every test -----------------------------------------------------------
# docs/architecture.md "One lock order": a transaction that writes or locks rows and then takes the audit chain's
# lock can deadlock on PostgreSQL against one that took the chain first. Every test's own transactions (a request,
# a step, a job's atomic block: those opened inside the test) are watched on the test's connection, and the test
# fails when one updated, deleted or locked a row before it took the chain. Statements outside such a block (a
# test calling a service that opens none) are not: they are the test's, not one request's. Sessions are left out:
# a session's row is written by its own requests only, never after the chain by another.
_SESSION = '"django_session"'
_elsewhere = threading.local()


@contextlib.contextmanager
def in_another_transaction():
    """What a test runs inside a request's transaction to stand for another writer (`read_meanwhile`, a job run
    mid-request) is left out of the lock-order check: it is not that request's."""
    _elsewhere.depth = getattr(_elsewhere, "depth", 0) + 1
    try:
        yield
    finally:
        _elsewhere.depth -= 1


_ROW_WRITE = re.compile(r"^\s*(UPDATE|DELETE)\b|\bFOR (NO KEY )?UPDATE\b", re.IGNORECASE)


class LockOrderWatch:
    """The check, fed by the hook below: statements and chain locks, each at its transaction depth (blocks
    opened since the test started)."""

    def __init__(self) -> None:
        self.row, self.chain, self.broken = None, False, []

    def begin(self, depth: int) -> None:
        if depth == 1:  # a new transaction of the test's
            self.row, self.chain = None, False

    def statement(self, sql: str, depth: int) -> None:
        if depth and not self.chain and self.row is None and _ROW_WRITE.search(sql) and _SESSION not in sql:
            self.row = " ".join(sql.split())[:200]

    def chain_locked(self, depth: int) -> None:
        if depth and not self.chain and self.row:
            self.broken.append(self.row)
        self.chain = True

    def verdict(self) -> None:
        if self.broken:
            raise AssertionError(
                "A transaction wrote or locked a row before the audit chain's lock, then took it (a deadlock on "
                "PostgreSQL against a writer that took the chain first; call audit.lock_chain() first): "
                + self.broken[0]
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    from attt.core import audit

    base, watch = len(connection.atomic_blocks), LockOrderWatch()
    enter, lock_chain = transaction.Atomic.__enter__, audit.lock_chain

    def depth() -> int:
        return 0 if getattr(_elsewhere, "depth", 0) else len(connection.atomic_blocks) - base

    def entering(self):
        enter(self)
        if (self.using or DEFAULT_DB_ALIAS) == DEFAULT_DB_ALIAS:
            watch.begin(depth())

    def locking_chain():
        watch.chain_locked(depth())
        lock_chain()

    def watching(execute, sql, params, many, context):
        watch.statement(sql, depth())
        return execute(sql, params, many, context)

    transaction.Atomic.__enter__, audit.lock_chain = entering, locking_chain
    try:
        with connection.execute_wrapper(watching):
            result = yield
    finally:
        transaction.Atomic.__enter__, audit.lock_chain = enter, lock_chain
    watch.verdict()
    return result


# --- The isolation matrix ------------------------------------------------------------------------
# Every scoped resource registers a factory here (from its module's tests/factories.py, imported by
# that module's conftest or test); the matrix test refuses to pass while a resource has none.


@dataclass
class MatrixFactory:
    create: object  # callable(Organization) -> instance
    change_payload: dict | None = None  # a harmless PATCH body; None when the API offers no change


matrix_factories: dict[type, MatrixFactory] = {}


def matrix_factory(model: type, change_payload: dict | None = None):
    def wrap(func):
        matrix_factories[model] = MatrixFactory(func, change_payload)
        return func

    return wrap


def _register_core_factories() -> None:
    from attt.core import audit
    from attt.core.models import AuditEvent

    counter = iter(range(1, 10**9))

    @matrix_factory(Organization, change_payload={"short_name": "changed"})
    def _org(parent):
        n = next(counter)
        return create_organization(parent=parent, code=f"m-{n}", name=f"Đơn vị {n}", kind="unit")

    @matrix_factory(User, change_payload={"job_title": "changed"})
    def _user(org):
        return make_user(org, username=f"m-user-{next(counter)}")

    @matrix_factory(RoleAssignment)
    def _assignment(org):
        user = make_user(org, username=f"m-ra-{next(counter)}")
        return RoleAssignment.objects.create(user=user, role=Role.objects.get(code="leader"), organization=org)

    @matrix_factory(AuditEvent)
    def _event(org):
        return audit.record(
            "workflow", object_type="test.thing", object_repr=f"thing {next(counter)}", organization=org
        )


_register_core_factories()


# --- Calls really at once (PostgreSQL: each thread has its own connection) ----------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs two connections writing at once (PostgreSQL)"
)


def crossing(monkeypatch, first, then) -> list:
    """Run `first` and `then` in threads, each in its own transaction: `first` starts alone and takes whatever
    locks it takes before the audit chain's; `then` starts half a second later and takes the chain's lock, and
    only then is `first` let ask for the chain. Against the one lock order (docs/architecture.md) — `first`
    holding rows `then` goes on to lock — PostgreSQL ends one of them with a deadlock error. Returns what each
    raised (None when it went through)."""
    from attt.core import audit

    then_holds_chain, lock_chain, who = threading.Event(), audit.lock_chain, threading.local()

    def ordered_lock_chain():
        if getattr(who, "name", "") == "first" and not then_holds_chain.is_set():
            then_holds_chain.wait(5)
        lock_chain()
        if getattr(who, "name", "") == "then" and not then_holds_chain.is_set():
            then_holds_chain.set()
            time.sleep(0.5)  # `first` now queues on the chain

    monkeypatch.setattr(audit, "lock_chain", ordered_lock_chain)
    outcomes: dict = {}

    def run(name, call):
        who.name = name
        try:
            with transaction.atomic():
                call()
            outcomes[name] = None
        except Exception as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=("first", first))]
    threads[0].start()
    time.sleep(0.5)
    threads.append(threading.Thread(target=run, args=("then", then)))
    threads[1].start()
    for thread in threads:
        thread.join(timeout=30)
    return [outcomes.get("first"), outcomes.get("then")]


def at_once(monkeypatch, owner, name: str, *calls) -> list:
    """Run the calls in threads, each held at its first call of `owner.name` until all got there (or a few
    seconds passed: a call that waits on another's lock never gets there), so each has looked at what is stored
    before any writes. Returns what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    original = getattr(owner, name)
    seen = threading.local()

    def held(*args, **kwargs):
        if not getattr(seen, "once", False):
            seen.once = True
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, held)
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            outcomes[i] = call()
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
