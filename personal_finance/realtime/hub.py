"""Per-process fan-out of prices: one channel-layer membership per symbol per server process.

Without it every ``/ws/prices/`` connection was a member of its symbols' groups: a price reached a
server process once per subscriber (a Redis copy per member with ``RedisChannelLayer``, a queue
put per member with the pub/sub layer), and each copy went through the consumer's channel
dispatch (a receive task, ``asyncio.wait``, a thread hop for ``close_old_connections``) before
reaching the connection: about 0.25 ms of CPU per delivery (docs/benchmarks.md, Realtime).

The hub of an event loop (a server process) owns one channel of the layer and joins
``quotes.<SYMBOL>`` while at least one local connection follows the symbol. A price event
(``price.update``, its client JSON already serialised once by the publisher) is received once per
process and handed to every local subscriber's bounded outbox (``StreamConsumer.enqueue``: a
dict insert, conflated per symbol); each connection's own writer task does the socket write, so
a slow client never delays the hub or the other connections.

The hub works with every layer: in-memory (embedded mode, tests), ``RedisChannelLayer`` and the
bounded pub/sub layer. Portfolio streams keep their own group membership (low volume, values
computed per portfolio by the publisher).
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer

from .groups import quote_group

logger = logging.getLogger("personal_finance.realtime")

# The channel-layer alias of price fan-out when configured (full mode: the bounded pub/sub layer,
# config/settings/base.py), else the default layer (embedded mode, tests).
PRICE_LAYER = "prices"

# Group memberships expire in the channel layers (``group_expiry``, 1 day by default): the hub
# re-adds its groups well before.
REFRESH_SECONDS = 3600.0


class PriceHub:
    """The price fan-out of one event loop. Connections call ``subscribe``/``unsubscribe``; the
    hub keeps the layer's group memberships in line with the union of their symbols."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.subscribers: dict[str, dict] = {}  # symbol -> {connection: None} (an ordered set)
        self.joined: set[str] = set()  # groups this hub's channel is a member of
        self.channel: str | None = None
        self.task: asyncio.Task | None = None  # the receive loop
        self.refresher: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    # -- membership -------------------------------------------------------------------------
    async def subscribe(self, connection, symbols) -> None:
        for symbol in symbols:
            self.subscribers.setdefault(symbol, {})[connection] = None
        await self._reconcile(symbols)

    async def unsubscribe(self, connection, symbols) -> None:
        for symbol in symbols:
            members = self.subscribers.get(symbol)
            if members is not None:
                members.pop(connection, None)
                if not members:
                    del self.subscribers[symbol]
        await self._reconcile(symbols)

    async def _reconcile(self, symbols) -> None:
        """Join the groups of followed symbols, leave the others; under a lock, so concurrent
        subscribes and unsubscribes of one symbol never leave the layer out of step."""
        async with self.lock:
            if self.subscribers and self.channel is None:
                self.channel = await self.layer.new_channel()
                loop = asyncio.get_running_loop()
                self.task = loop.create_task(self._run(self.channel))
                self.refresher = loop.create_task(self._keep_memberships())
            for symbol in symbols:
                if symbol in self.subscribers and symbol not in self.joined:
                    await self.layer.group_add(quote_group(symbol), self.channel)
                    self.joined.add(symbol)
                elif symbol not in self.subscribers and symbol in self.joined:
                    self.joined.discard(symbol)
                    await self.layer.group_discard(quote_group(symbol), self.channel)
            if not self.subscribers and not self.joined and self.task is not None:
                # Idle: stop receiving (a pub/sub layer unsubscribes the channel on cancel).
                self.task.cancel()
                if self.refresher is not None:
                    self.refresher.cancel()
                self.task = self.refresher = self.channel = None

    async def _keep_memberships(self) -> None:
        """Re-add the groups periodically, prices or not (a quiet weekend outlasts a day)."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                async with self.lock:
                    for symbol in list(self.joined):
                        await self.layer.group_add(quote_group(symbol), self.channel)
            except Exception:
                logger.warning("price hub: refreshing the group memberships failed", exc_info=True)

    # -- delivery ---------------------------------------------------------------------------
    def deliver(self, symbol: str, text: str) -> int:
        """Hand one serialised price to every local subscriber's outbox (never waits)."""
        members = self.subscribers.get(symbol)
        if not members:
            return 0
        for connection in members:
            connection.enqueue(text, symbol)
        return len(members)

    async def _run(self, channel: str) -> None:
        receive = self.layer.receive
        failures = 0
        while True:
            try:
                event = await receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                logger.warning("price hub: receive failed (%d in a row); retrying", failures, exc_info=True)
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                continue
            failures = 0
            if event.get("type") == "price.update":
                self.deliver(event["symbol"], event["text"])


def price_layer():
    """The layer that carries ``quotes.<SYMBOL>``: the ``prices`` alias, else the default."""
    return get_channel_layer(PRICE_LAYER if PRICE_LAYER in channel_layers else DEFAULT_CHANNEL_LAYER)


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> PriceHub | None:
    """The hub of the running event loop and the current price layer (None without a layer).
    A new layer (settings changed, as in tests) gets a new hub."""
    layer = price_layer()
    if layer is None:
        return None
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = PriceHub(layer)
    return hub
