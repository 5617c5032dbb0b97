"""WebSocket consumers of docs/contracts.md §8: ``/ws/prices/`` and ``/ws/portfolios/{id}/``.

Each connection has a small outbox drained by its own writer task, so the events of a connection
are handled at once whatever the speed of its client: a slow client (its writer blocked on a
backed-up socket) only makes its own outbox conflate (the newest price of a symbol replaces the
unsent older one) and never delays other connections; a client that keeps up gets every message.

Price connections have no channel of their own: the process's price hub (``hub.py``) is the one
member of each followed symbol's group and appends each price, serialised once, to the outbox of
every local subscriber. Portfolio streams keep a channel and their ``portfolio.<id>`` group.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.sessions import InstanceSessionWrapper

from personal_finance.assets.models import Asset
from personal_finance.portfolios.models import Portfolio
from personal_finance.portfolios.selectors import PortfolioService

from .background import ensure_background
from .groups import InvalidSymbol, normalize_symbol, portfolio_group
from .hub import get_hub
from .messages import portfolio_message
from .selectors import portfolio_live_value
from .tracker import conf, tracker

logger = logging.getLogger("channels.consumer")
auth_logger = logging.getLogger("personal_finance.auth")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

_connection_ids = itertools.count(1)


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """Authentication, per-connection limits, errors as messages and the bounded outbox."""

    kind = "stream"

    async def connect(self):
        self.registered = False
        self.writer = None
        self.raw_send = _innermost_send(self.base_send)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept first so the client sees the close code (a refused handshake is a bare 403).
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await self.authorize(user):
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.rate = float(conf("MAX_MESSAGES_PER_SECOND"))
        self.tokens = self.rate
        self.tokens_at = time.monotonic()
        self.limited_notice_at = 0.0
        self.outbox: deque[list] = deque()  # [key, text] entries, oldest first
        self.latest: dict = {}  # key -> its newest unsent entry (the one a newer value replaces)
        self.outbox_limit = int(conf("OUTBOX_SIZE"))
        self.blocked = False  # the writer waits for the client to read (socket backed up)
        self.wake = asyncio.Event()
        self.last_drop_log = 0.0
        self.name = getattr(self, "channel_name", None) or f"conn-{next(_connection_ids)}"
        await self.accept()
        self.writer = asyncio.get_running_loop().create_task(self.write_loop())
        tracker.connect(self.kind)
        self.registered = True
        ensure_background()
        await self.joined()

    async def authorize(self, user) -> bool:
        return True

    async def joined(self) -> None:
        """Hook: the connection is accepted and counted."""

    async def disconnect(self, code):
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.cancel()
        if getattr(self, "registered", False):
            self.registered = False
            tracker.disconnect(self.kind)
            await self.left()

    async def left(self) -> None:
        """Hook: leave groups, forget subscriptions."""

    # -- outgoing -----------------------------------------------------------------------------
    def enqueue(self, text: str, key=None) -> None:
        """Queue one message (never waits). With a ``key`` (a symbol, a portfolio), while the
        client is slow (the writer is blocked on a backed-up socket) a newer message replaces the
        unsent older one of the same key in place: a slow client gets the newest values, not a
        backlog. A client that keeps up gets every message, in order, even when several arrive
        in one burst. ``OUTBOX_SIZE`` bounds the outbox anyway (the oldest entry is dropped)."""
        if key is not None and self.blocked:
            entry = self.latest.get(key)
            if entry is not None:
                entry[1] = text
                tracker.counters["conflated"] += 1
                self.log_drop("conflated an unsent update for %s", key)
                return
        outbox = self.outbox
        if len(outbox) >= self.outbox_limit:
            old = outbox.popleft()
            if old[0] is not None and self.latest.get(old[0]) is old:
                del self.latest[old[0]]
            tracker.counters["dropped"] += 1
            self.log_drop("outbox full (%d): dropped the oldest message", self.outbox_limit)
        entry = [key, text]
        outbox.append(entry)
        if key is not None:
            self.latest[key] = entry
        self.wake.set()

    def log_drop(self, message: str, *args) -> None:
        now = time.monotonic()
        if now - self.last_drop_log >= 10:
            self.last_drop_log = now
            logger.warning("slow client %s: " + message, self.name, *args)

    async def write_loop(self) -> None:
        outbox, latest, wake, counters = self.outbox, self.latest, self.wake, tracker.counters
        try:
            while True:
                await wake.wait()
                wake.clear()
                sent = 0
                while outbox:
                    entry = outbox.popleft()
                    key = entry[0]
                    if key is not None and latest.get(key) is entry:
                        del latest[key]
                    # A send that completes at once never suspends; one that waits means the
                    # client does not read fast enough: newer values then conflate (enqueue).
                    self.blocked = True
                    await self.send(text_data=entry[1])
                    self.blocked = False
                    sent += 1
                counters["messages_out"] += sent
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away mid-send; disconnect() cleans up
            logger.debug("writer of %s stopped", self.name, exc_info=True)

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Text frames go straight to the server's send (see ``_innermost_send``)."""
        if text_data is not None and not close:
            await self.raw_send({"type": "websocket.send", "text": text_data})
        else:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    def send_message(self, content: dict) -> None:
        self.enqueue(json.dumps(content))

    def error(self, message: str) -> None:
        tracker.count("errors")
        self.send_message({"type": "error", "message": message})

    # -- incoming -----------------------------------------------------------------------------
    def allow_message(self) -> bool:
        """Token bucket: ``MAX_MESSAGES_PER_SECOND`` with a burst of as many."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.tokens_at) * self.rate)
        self.tokens_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        tracker.count("rate_limited")
        if now - self.limited_notice_at >= 1:  # one notice a second, not one per flood message
            self.limited_notice_at = now
            self.error(f"rate limit: at most {self.rate:g} messages per second; message ignored")
        return False

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        tracker.count("messages_in")
        if not self.allow_message():
            return
        if text_data is None:
            self.error("messages are JSON text frames, not binary")
            return
        limit = int(conf("MAX_MESSAGE_BYTES"))
        if len(text_data) > limit:
            self.error(f"message too large: at most {limit} bytes")
            return
        try:
            content = json.loads(text_data)
        except ValueError as exc:
            self.error(f"invalid JSON: {exc}")
            return
        if not isinstance(content, dict):
            self.error('a message is a JSON object such as {"action": "subscribe", "symbols": ["AAPL"]}')
            return
        await self.receive_json(content)


class PriceConsumer(StreamConsumer):
    """``/ws/prices/``: subscribe and unsubscribe to symbols. The process's price hub is the
    member of each symbol's group (``quotes.<SYMBOL>``) and fills this connection's outbox."""

    kind = "prices"
    # No channel per connection (channels skips the layer for an alias it does not know): prices
    # arrive through the hub, and a connection takes no other channel-layer events.
    channel_layer_alias = None

    async def joined(self):
        self.symbols: set[str] = set()
        self.hub = get_hub()

    async def left(self):
        symbols, self.symbols = self.symbols, set()
        tracker.unsubscribe(symbols)
        if self.hub is not None and symbols:
            await self.hub.unsubscribe(self, symbols)

    async def receive_json(self, content, **kwargs):
        action = content.get("action")
        if action not in ("subscribe", "unsubscribe"):
            self.error(f"unknown action {str(action)[:40]!r}: use 'subscribe' or 'unsubscribe'")
            return
        symbols = self.parse_symbols(content.get("symbols"))
        if symbols is None:
            return
        if action == "subscribe":
            await self.subscribe(symbols)
        else:
            await self.unsubscribe(symbols)

    def parse_symbols(self, raw) -> list[str] | None:
        limit = int(conf("MAX_SYMBOLS"))
        if not isinstance(raw, list) or not raw:
            self.error('"symbols" must be a non-empty list such as ["AAPL", "MSFT"]')
            return None
        if len(raw) > limit:
            self.error(f"too many symbols in one message: at most {limit}")
            return None
        symbols, bad = [], []
        for value in raw:
            try:
                symbols.append(normalize_symbol(value))
            except InvalidSymbol as exc:
                bad.append(str(exc))
        if bad:
            self.error("; ".join(bad[:5]) + ("" if len(bad) <= 5 else f" (and {len(bad) - 5} more)"))
            return None
        return list(dict.fromkeys(symbols))

    async def subscribe(self, symbols: list[str]) -> None:
        limit = int(conf("MAX_SYMBOLS"))
        new = [s for s in symbols if s not in self.symbols]
        if len(self.symbols) + len(new) > limit:
            self.error(
                f"subscription limit: at most {limit} symbols per connection "
                f"(subscribed to {len(self.symbols)}, asked for {len(new)} more); unsubscribe some first"
            )
            return
        unknown = await database_sync_to_async(_unknown_symbols)(new) if new else []
        if unknown:
            self.error(f"unknown symbol(s): {', '.join(unknown)}")
            return
        self.symbols.update(new)
        tracker.subscribe(new)
        if self.hub is not None and new:
            await self.hub.subscribe(self, new)
        self.send_message({"type": "subscribed", "symbols": symbols})

    async def unsubscribe(self, symbols: list[str]) -> None:
        gone = [s for s in symbols if s in self.symbols]
        self.symbols.difference_update(gone)
        if self.hub is not None and gone:
            await self.hub.unsubscribe(self, gone)
        tracker.unsubscribe(gone)
        self.send_message({"type": "unsubscribed", "symbols": symbols})


class PortfolioConsumer(StreamConsumer):
    """``/ws/portfolios/{id}/``: the portfolio's value on connect, then after each price change of
    one of its holdings. Another user's portfolio, or one that does not exist, closes with 4403
    (like the API's 404, the answer does not tell whether it exists)."""

    kind = "portfolios"

    async def authorize(self, user) -> bool:
        self.portfolio_id = int(self.scope["url_route"]["kwargs"]["portfolio_id"])
        if await database_sync_to_async(_owns_portfolio)(user, self.portfolio_id):
            return True
        auth_logger.warning("websocket permission denied: user=%s portfolio=%s", user.pk, self.portfolio_id)
        return False

    async def joined(self):
        await self.channel_layer.group_add(portfolio_group(self.portfolio_id), self.channel_name)
        tracker.watch(self.portfolio_id)
        message = await database_sync_to_async(_current_value)(self.portfolio_id)
        if message is not None:
            self.send_message(message)

    async def left(self):
        await self.channel_layer.group_discard(portfolio_group(self.portfolio_id), self.channel_name)
        tracker.unwatch(self.portfolio_id)

    async def receive_json(self, content, **kwargs):
        self.error("this stream takes no actions: it pushes the portfolio's value when a price changes")

    async def portfolio_update(self, event):
        self.enqueue(event["text"], key=("portfolio", event["id"]))


def _innermost_send(send):
    """The server's ``send`` under channels' session middleware. Its wrapper only acts on HTTP
    responses (saving the session, setting the cookie); on every ``websocket.send`` it still reads
    the lazy session object, a measurable cost per delivered price, so the writer skips it."""
    while isinstance(getattr(send, "__self__", None), InstanceSessionWrapper):
        send = send.__self__.real_send
    return send


def _unknown_symbols(symbols: list[str]) -> list[str]:
    known = set(Asset.objects.filter(symbol__in=symbols).values_list("symbol", flat=True))
    return [s for s in symbols if s not in known]


def _owns_portfolio(user, portfolio_id: int) -> bool:
    return PortfolioService(user).get_queryset().filter(pk=portfolio_id).exists()


def _current_value(portfolio_id: int) -> dict | None:
    portfolio = Portfolio.objects.filter(pk=portfolio_id).first()
    if portfolio is None:
        return None
    try:
        return portfolio_message(portfolio_live_value(portfolio=portfolio))
    except Exception:
        logger.exception("portfolio %s: current value failed", portfolio_id)
        return None
