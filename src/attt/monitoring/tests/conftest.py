import pytest

from attt.monitoring import services


@pytest.fixture(autouse=True)
def monitoring_dir(tmp_path, monkeypatch):
    """Each test gets its own spool and event store (other engineers run tests at the same time)."""
    monkeypatch.setenv("ATTT_MONITORING_DIR", str(tmp_path / "monitoring"))
    services._spool.cache_clear()
    services._store.cache_clear()
    services.forget_index()
    yield tmp_path / "monitoring"
    services._spool.cache_clear()
    services._store.cache_clear()
