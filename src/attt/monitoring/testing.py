"""Pytest plugin (listed in the root conftest): every test of every module gets its own spool and event store, so
no test reads the working copy's var/monitoring (a page test would show another run's events) and two test
processes never share a store."""

import pytest

from attt.monitoring import services


@pytest.fixture(autouse=True)
def monitoring_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTT_MONITORING_DIR", str(tmp_path / "monitoring"))
    services._spool.cache_clear()
    services._store.cache_clear()
    services.forget_index()
    yield tmp_path / "monitoring"
    services._spool.cache_clear()
    services._store.cache_clear()
