"""Where feed version tokens live between polls and across restarts."""

from __future__ import annotations

from typing import Protocol


class FeedCursorStore(Protocol):
    """Persists one opaque `toVersion` token per feed name (e.g. ``geotab:acme:LogRecord``).

    The client calls `set` only after a batch was handed off, so a crash between fetching and
    handing off re-reads that batch (at-least-once; consumers dedupe by record id).
    """

    async def get(self, feed: str) -> str | None: ...

    async def set(self, feed: str, version: str) -> None: ...


class InMemoryFeedCursorStore:
    """A `FeedCursorStore` in a dict: for tests and the embedded demo (lost on restart)."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self._versions: dict[str, str] = dict(initial or {})

    async def get(self, feed: str) -> str | None:
        return self._versions.get(feed)

    async def set(self, feed: str, version: str) -> None:
        self._versions[feed] = version

    def snapshot(self) -> dict[str, str]:
        return dict(self._versions)
