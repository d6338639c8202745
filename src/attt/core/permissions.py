"""Permissions are strings 'module.object.action'; modules declare theirs, roles (data) grant them."""

from fnmatch import fnmatchcase
from pathlib import Path

import yaml
from django.db import transaction
from django.utils.translation import gettext_noop

ROLES_FILE = Path(__file__).parent / "data" / "roles.yaml"
_registry: dict[str, list[str]] = {}


def register_module_permissions(module: str, objects: dict[str, list[str]]) -> None:
    """Declare the actions a module offers, so roles and the isolation matrix can list them."""
    _registry[module] = [f"{module}.{obj}.{action}" for obj, actions in objects.items() for action in actions]


def all_permissions() -> list[str]:
    return sorted(p for perms in _registry.values() for p in perms)


def model_permission(model: type, action: str) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}.{action}"


def grants(patterns: list[str], permission: str) -> bool:
    """True when a pattern grants the permission and no '!pattern' takes it back."""
    denied = any(fnmatchcase(permission, p[1:]) for p in patterns if p.startswith("!"))
    return not denied and any(fnmatchcase(permission, p) for p in patterns if not p.startswith("!"))


def load_role_definitions(path: Path = ROLES_FILE) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    roles = data.get("roles") if isinstance(data, dict) else None
    if not isinstance(roles, list):
        raise ValueError(f"{path}: expected a top-level 'roles' list")
    for role in roles:
        missing = {"code", "name", "permissions"} - set(role)
        if missing:
            raise ValueError(f"{path}: role {role.get('code', '?')} lacks {', '.join(sorted(missing))}")
    return roles


def sync_built_in_roles(**_: object) -> None:
    """Create or update the built-in roles from the data file (run after every migrate)."""
    from attt.core import audit
    from attt.core.models import Role

    for definition in load_role_definitions():
        with transaction.atomic():
            audit.lock_chain()  # update_or_create locks the role before its audited save
            Role.objects.update_or_create(
                code=definition["code"],
                defaults={
                    "name": definition["name"],
                    "description": definition.get("description", ""),
                    "permissions": definition["permissions"],
                    "built_in": True,
                },
            )


# Role names live in roles.yaml; these markers let `makemessages` keep their Vietnamese translations
# (a test checks every role in the data file has one).
ROLE_NAMES_FOR_TRANSLATION = (
    gettext_noop("National administrator"),
    gettext_noop("Organisation administrator"),
    gettext_noop("Security officer"),
    gettext_noop("System owner or operator"),
    gettext_noop("SOC analyst"),
    gettext_noop("Incident responder"),
    gettext_noop("Inspector"),
    gettext_noop("Leader (read-only)"),
)
