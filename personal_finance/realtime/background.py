"""Per-process background tasks of a server process, started by its first WebSocket connection:
the status heartbeat to Redis (full mode) and, in embedded mode, the price feed.

The in-memory channel layer only reaches consumers of its own process, so in embedded mode the
feed runs inside the server (``manage.py runserver``) on its event loop; it starts with the first
connection when ``DEBUG`` is on, the channel layer is in-memory and ``REALTIME_EMBEDDED_FEED`` is
true, and it only works while someone is connected. In full mode the feed is its own process
(``manage.py run_price_feed``) publishing through Redis.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from .feed import PriceFeed
from .tracker import conf, heartbeat, redis_url, tracker

logger = logging.getLogger("personal_finance.realtime")

_tasks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def embedded_feed_enabled() -> bool:
    return bool(conf("EMBEDDED_FEED")) and settings.DEBUG and redis_url() is None


def ensure_background() -> None:
    """Start this event loop's background tasks once (idempotent)."""
    loop = asyncio.get_running_loop()
    if loop in _tasks:
        return
    tasks = []
    url = redis_url()
    if url:
        tasks.append(loop.create_task(heartbeat(url)))
    if embedded_feed_enabled():
        tasks.append(loop.create_task(run_embedded_feed()))
    _tasks[loop] = tasks


async def run_embedded_feed() -> None:
    feed = PriceFeed()
    logger.info("embedded price feed started (%s, every %ss)", feed.effective_mode(), feed.interval)
    tick = database_sync_to_async(feed.tick, thread_sensitive=False)
    while True:
        if sum(tracker.connections.values()):
            try:
                await tick()
            except Exception:
                logger.exception("embedded price feed: tick failed")
        await asyncio.sleep(feed.interval)
