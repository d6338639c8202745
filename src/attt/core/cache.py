"""The cache backend of a machine's processes (settings `CACHES`)."""

from __future__ import annotations

import time

from django.core.cache.backends.filebased import FileBasedCache


class FileCache(FileBasedCache):
    """Django's file cache, shared by every process of the machine, except that it lists its folder to cull at most
    once a minute: Django's lists it on every write, and DRF's rate limits write on every API request, so with tens
    of thousands of entries each request paid tens of milliseconds."""

    CULL_EVERY_S = 60.0
    _culled_at = float("-inf")

    def _cull(self) -> None:
        now = time.monotonic()
        if now - self._culled_at < self.CULL_EVERY_S:
            return
        self._culled_at = now
        super()._cull()
