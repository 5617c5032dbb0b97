"""Who is connected and to what: counts for the operator status, and the subscribed symbols and
watched portfolios the feed and the publishing service need.

Every server process counts its own connections in memory (``tracker``). With the Redis channel
layer (full mode) each process also writes its snapshot to Redis under its own key with a short
expiry, refreshed by a heartbeat; readers (the status endpoint, the feed, the publisher in a
Celery worker) take the union of the live snapshots, so a crashed process drops out by itself.
With the in-memory layer (embedded mode) everything is one process and the snapshot is read
directly.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from typing import Any

import redis
import redis.asyncio as aioredis
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("personal_finance.realtime")

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

DEFAULTS = {
    "MAX_SYMBOLS": 50,
    "MAX_MESSAGES_PER_SECOND": 10.0,
    "MAX_MESSAGE_BYTES": 4096,
    "OUTBOX_SIZE": 200,
    "FEED": "auto",
    "FEED_INTERVAL": 5.0,
    "SIMULATED_STEP_PCT": 0.1,
    "PROBE_INTERVAL": 300.0,
    "EMBEDDED_FEED": True,
    "HEARTBEAT": 2.0,
    "REDIS_PREFIX": "pfp:realtime:",
}


def conf(key: str):
    return {**DEFAULTS, **getattr(settings, "REALTIME", {})}[key]


class Tracker:
    """In-process counters of this server process (thread-safe; cheap enough for the hot path)."""

    COUNTERS = ("messages_in", "messages_out", "conflated", "dropped", "layer_dropped", "rate_limited", "errors")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.connections: Counter[str] = Counter()
            self.symbols: Counter[str] = Counter()
            self.portfolios: Counter[int] = Counter()
            self.counters: Counter[str] = Counter()
            self.feed: dict = {}
            self.changed = threading.Event()

    def _changed(self) -> None:
        self.changed.set()

    def connect(self, kind: str) -> None:
        with self.lock:
            self.connections[kind] += 1
        self._changed()

    def disconnect(self, kind: str) -> None:
        with self.lock:
            self.connections[kind] -= 1
            if self.connections[kind] <= 0:
                del self.connections[kind]
        self._changed()

    def subscribe(self, symbols) -> None:
        with self.lock:
            self.symbols.update(symbols)
        self._changed()

    def unsubscribe(self, symbols) -> None:
        with self.lock:
            self.symbols.subtract(symbols)
            for symbol in symbols:
                if self.symbols[symbol] <= 0:
                    del self.symbols[symbol]
        self._changed()

    def watch(self, portfolio_id: int) -> None:
        with self.lock:
            self.portfolios[portfolio_id] += 1
        self._changed()

    def unwatch(self, portfolio_id: int) -> None:
        with self.lock:
            self.portfolios[portfolio_id] -= 1
            if self.portfolios[portfolio_id] <= 0:
                del self.portfolios[portfolio_id]
        self._changed()

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n  # a lost increment under a race is acceptable for a statistic

    def set_feed(self, state: dict) -> None:
        with self.lock:
            self.feed = dict(state)
        self._changed()

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "process": PROCESS_ID,
                "connections": dict(self.connections),
                "symbols": dict(self.symbols),
                "portfolios": {str(k): v for k, v in self.portfolios.items()},
                "counters": {name: self.counters[name] for name in self.COUNTERS},
                "feed": dict(self.feed),
                "at": time.time(),
            }


tracker = Tracker()


# ---------------------------------------------------------------------------------------------
# Where snapshots live: in Redis next to the channel layer, or only in this process.
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _is_redis_layer(backend: str) -> bool:
    if not backend:
        return False
    try:
        return issubclass(import_string(backend), RedisChannelLayer | RedisPubSubChannelLayer)
    except ImportError:
        return "redis" in backend.lower()


def redis_url() -> str | None:
    """The Redis of the default channel layer when it is a Redis layer, else None."""
    layer: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    if not _is_redis_layer(layer.get("BACKEND", "")):
        return None
    hosts = layer.get("CONFIG", {}).get("hosts") or []
    if not hosts:
        return "redis://localhost:6379/0"
    host = hosts[0]
    if isinstance(host, dict):
        return host.get("address")
    if isinstance(host, list | tuple):
        return f"redis://{host[0]}:{host[1]}/0"
    return host


def _key(name: str) -> str:
    return f"{conf('REDIS_PREFIX')}{name}"


_clients: dict[str, object] = {}


def _sync_redis(url: str):
    """One client (and connection pool) per URL and process; redis-py clients are thread-safe."""
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return client


def snapshots() -> list[dict]:
    """This process's snapshot plus, in full mode, the live snapshots of the other processes."""
    own = tracker.snapshot()
    url = redis_url()
    if url is None:
        return [own]
    client = _sync_redis(url)
    keys = [k for k in client.scan_iter(match=_key("proc:*"), count=1000) if not k.decode().endswith(PROCESS_ID)]
    values = client.mget(keys) if keys else []
    others = [json.loads(v) for v in values if v]
    return [own, *others]


def write_snapshot_sync(ttl: float | None = None) -> None:
    """Publish this process's snapshot (the feed process and commands, which have no event loop)."""
    url = redis_url()
    if url is None:
        return
    ttl = ttl or conf("HEARTBEAT") * 3
    _sync_redis(url).set(_key(f"proc:{PROCESS_ID}"), json.dumps(tracker.snapshot()), px=int(ttl * 1000))


def subscribed_symbols() -> set[str]:
    return {symbol for snap in snapshots() for symbol, n in snap["symbols"].items() if n > 0}


def watched_portfolios() -> set[int]:
    return {int(pid) for snap in snapshots() for pid, n in snap["portfolios"].items() if n > 0}


def status() -> dict:
    """The operator view: connections and subscriptions across every live server process."""
    snaps = snapshots()
    connections: Counter[str] = Counter()
    symbols: Counter[str] = Counter()
    portfolios: Counter[str] = Counter()
    counters: Counter[str] = Counter()
    feeds = []
    for snap in snaps:
        connections.update(snap["connections"])
        symbols.update(snap["symbols"])
        portfolios.update(snap["portfolios"])
        counters.update(snap["counters"])
        if snap.get("feed"):
            feeds.append(snap["feed"])
    active = [s for s in snaps if s["connections"] or s.get("feed")]
    return {
        "mode": "redis" if redis_url() else "in-process",
        "processes": len(active),
        "connections": {"total": sum(connections.values()), **dict(connections)},
        "subscriptions": sum(symbols.values()),
        "symbols": dict(symbols.most_common(100)),
        "distinct_symbols": len(symbols),
        "portfolios_watched": len(portfolios),
        "portfolio_streams": sum(portfolios.values()),
        "counters": {name: counters[name] for name in Tracker.COUNTERS},
        "feeds": feeds,
    }


# ---------------------------------------------------------------------------------------------
# Heartbeat: keeps this server process's snapshot fresh in Redis (started by the first consumer).
# ---------------------------------------------------------------------------------------------
async def heartbeat(url: str) -> None:
    client = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    key = _key(f"proc:{PROCESS_ID}")
    period = conf("HEARTBEAT")
    try:
        while True:
            try:
                await client.set(key, json.dumps(tracker.snapshot()), px=int(period * 3000))
            except Exception:  # Redis down: keep serving, try again at the next beat
                logger.warning("realtime status: cannot write the snapshot to Redis", exc_info=True)
            # Flush soon after a change (debounced), else at the heartbeat period.
            deadline = time.monotonic() + period
            while time.monotonic() < deadline and not tracker.changed.is_set():
                await asyncio.sleep(min(0.25, period))
            tracker.changed.clear()
    finally:
        try:
            await client.delete(key)
            await client.aclose()
        except Exception:
            logger.debug("realtime status: cleanup failed", exc_info=True)
