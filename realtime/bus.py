"""The bus between processes: in-process (embedded mode) or Redis pub/sub (production).

Both are at-most-once, like Redis pub/sub itself: a message can be lost (a full local queue, a
dropped connection). Consumers repair what matters from the event log; see ``hub.py``.
One subscription per channel per process; one listener task fans out to local queues; every
queue is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

log = logging.getLogger("dispatch.bus")
Handler = Callable[[str], Awaitable[None]]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, channel: str, message: str) -> None: ...

    async def publish_many(self, channel: str, messages: list[str]) -> None:
        """Publish ``messages`` in order, in one round trip where the bus has them (a task that
        awaits a reply per message waits a turn of a busy event loop per message)."""
        ...

    def subscribe(self, channel: str, handler: Handler, *, superseding: bool = False) -> None:
        """Call ``handler`` with every message of the channel, in order, from one task.

        ``superseding``: later messages replace earlier ones (positions), so a backlog keeps
        only the newest few.
        """
        ...

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Called after the connection came back: messages may have been lost meanwhile."""
        ...

    async def ping(self) -> None:
        """Raise when the bus cannot be reached (health checks, the system-error rule)."""
        ...


class _Channel:
    """A bounded queue drained by one task that calls the channel's handlers in order.

    ``drop_oldest`` suits superseding data (positions): a backlog never grows stale, the newest
    messages win. Otherwise the newest are dropped and the consumer repairs from the log.
    """

    def __init__(self, name: str, maxsize: int, drop_oldest: bool = False) -> None:
        self.name = name
        self.drop_oldest = drop_oldest
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=maxsize)
        self.handlers: list[Handler] = []
        self.task: asyncio.Task[None] | None = None
        self.dropped = 0

    def offer(self, message: str) -> None:
        if self.drop_oldest and self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1  # at-most-once; the hub repairs events from the log

    async def drain(self) -> None:
        while True:
            message = await self.queue.get()
            for handler in self.handlers:
                try:
                    await handler(message)
                except Exception:  # one handler's bug must not stop the channel
                    log.exception("bus handler failed on %s", self.name)


SUPERSEDING_BACKLOG = 8


def _channel(name: str, maxsize: int, superseding: bool) -> _Channel:
    if superseding:
        return _Channel(name, SUPERSEDING_BACKLOG, drop_oldest=True)
    return _Channel(name, maxsize)


class MemoryBus:
    """A real in-process implementation, used in embedded mode and in tests."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self.channels: dict[str, _Channel] = {}
        self._reconnect: list[Callable[[], Awaitable[None]]] = []
        self._started = False

    def subscribe(self, channel: str, handler: Handler, *, superseding: bool = False) -> None:
        ch = self.channels.get(channel)
        if ch is None:
            ch = self.channels[channel] = _channel(channel, self.maxsize, superseding)
            if self._started:
                ch.task = asyncio.create_task(ch.drain(), name=f"bus:{channel}")
        ch.handlers.append(handler)

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnect.append(callback)

    async def ping(self) -> None:
        """In process: always reachable."""

    async def start(self) -> None:
        self._started = True
        for ch in self.channels.values():
            if ch.task is None:
                ch.task = asyncio.create_task(ch.drain(), name=f"bus:{ch.name}")

    async def stop(self) -> None:
        self._started = False
        for ch in self.channels.values():
            if ch.task is not None:
                ch.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ch.task
                ch.task = None

    async def publish(self, channel: str, message: str) -> None:
        ch = self.channels.get(channel)
        if ch is not None:
            ch.offer(message)

    async def publish_many(self, channel: str, messages: list[str]) -> None:
        for message in messages:
            await self.publish(channel, message)


class RedisBus:
    """Redis pub/sub with a supervised listener: on any error it logs, backs off, reconnects,
    resubscribes and tells the ``on_reconnect`` callbacks (which repair gaps from the log)."""

    def __init__(self, url: str, *, maxsize: int = 10_000, backoff_cap: float = 5.0,
                 client_name: str = "dispatch") -> None:
        self.url = url
        self.client_name = client_name
        self.maxsize = maxsize
        self.backoff_cap = backoff_cap
        self.channels: dict[str, _Channel] = {}
        self._reconnect: list[Callable[[], Awaitable[None]]] = []
        self._publisher: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    def subscribe(self, channel: str, handler: Handler, *, superseding: bool = False) -> None:
        ch = self.channels.get(channel)
        if ch is None:
            ch = self.channels[channel] = _channel(channel, self.maxsize, superseding)
        ch.handlers.append(handler)

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnect.append(callback)

    async def start(self) -> None:
        import redis.asyncio as redis

        self._publisher = redis.from_url(self.url)
        for ch in self.channels.values():
            ch.task = asyncio.create_task(ch.drain(), name=f"bus:{ch.name}")
        self._listener = asyncio.create_task(self._supervise(), name="bus:redis-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=5)

    async def stop(self) -> None:
        tasks = [t for t in [self._listener, *(c.task for c in self.channels.values())] if t]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._publisher is not None:
            await self._publisher.aclose()

    async def publish(self, channel: str, message: str) -> None:
        await self._publisher.publish(channel, message)

    async def publish_many(self, channel: str, messages: list[str]) -> None:
        """One pipeline (not a transaction): one connection, so Redis publishes them in order."""
        if not messages:
            return
        async with self._publisher.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(channel, message)
            await pipe.execute()

    async def ping(self) -> None:
        """Raises unless Redis answers (``/readyz``)."""
        await self._publisher.ping()

    async def _supervise(self) -> None:
        attempt = 0
        first = True
        while True:
            try:
                await self._listen(first)
                attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # supervised: log, back off, reconnect; never die
                self._connected.clear()
                attempt += 1
                delay = min(self.backoff_cap, 0.1 * 2 ** attempt) * (0.5 + random.random() / 2)
                log.warning("redis listener lost (%s); reconnecting in %.2f s", error, delay)
                await asyncio.sleep(delay)
            first = False

    async def _listen(self, first: bool) -> None:
        import redis.asyncio as redis

        client = redis.from_url(self.url, health_check_interval=10,
                                client_name=f"{self.client_name}-listener")
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*self.channels)
            self._connected.set()
            if not first:
                for callback in self._reconnect:
                    try:
                        await callback()
                    except Exception:
                        log.exception("reconnect callback failed")
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                channel = message["channel"]
                name = channel.decode() if isinstance(channel, bytes) else str(channel)
                data = message["data"]
                text = data.decode() if isinstance(data, bytes) else str(data)
                ch = self.channels.get(name)
                if ch is not None:
                    ch.offer(text)
        finally:
            with contextlib.suppress(Exception):
                await cast(Any, pubsub).aclose()  # typed in some redis releases only
            with contextlib.suppress(Exception):
                await client.aclose()
