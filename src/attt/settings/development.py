"""For `make run` on one machine: debug pages on, plain HTTP on loopback."""

import os

from .base import *  # noqa: F403
from .base import DATA_DIR, env_bool

DEBUG = env_bool("ATTT_DEBUG", True)
if not SECRET_KEY:  # noqa: F405
    # A per-checkout key kept in the data folder, so sessions survive restarts but no key is committed.
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
        os.chmod(_key_file, 0o600)
    SECRET_KEY = _key_file.read_text().strip()
