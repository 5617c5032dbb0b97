"""The one publishing path of prices (docs/contracts.md#websocket-protocol). A stored price arrives
as the ``price_quoted`` signal of ``assets.services.quote_record`` (connected to ``on_price_quoted``
by ``RealtimeConfig.ready()``); the feed's simulated prices call ``publish_prices`` directly. The
broadcast runs after the transaction commits, so a subscriber never sees a price the database does
not have (simulated prices, which are never stored, are published at once).

A broadcast sends each price to its symbol's group (``quotes.<SYMBOL>``) and a new value to the
group of every *watched* portfolio (one with an open stream) that holds one of the symbols.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Iterable
from decimal import Decimal

from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from personal_finance.assets.models import Asset, PriceBar
from personal_finance.portfolios.models import Portfolio, Transaction

from .groups import normalize_symbol, portfolio_group, quote_group
from .hub import price_layer
from .messages import PriceUpdate, portfolio_event, portfolio_message, price_event, utc_day
from .selectors import portfolio_live_value
from .tracker import redis_url, tracker, watched_portfolios

logger = logging.getLogger("personal_finance.realtime")


# ---------------------------------------------------------------------------------------------
# Entry points for price sources (sync: services, tasks, commands)
# ---------------------------------------------------------------------------------------------
def publish_price(
    *,
    symbol: str,
    price: Decimal,
    ts: dt.datetime | None = None,
    previous_close: Decimal | None = None,
    simulated: bool = False,
) -> PriceUpdate:
    """Publish one stored price after the current transaction commits (at once outside one)."""
    return publish_prices(
        [
            PriceUpdate(
                symbol=normalize_symbol(symbol),
                price=Decimal(price),
                ts=ts or timezone.now(),
                previous_close=previous_close,
                simulated=simulated,
            )
        ]
    )[0]


def on_price_quoted(sender, *, symbol, price, ts, previous_close=None, simulated=False, **kwargs) -> None:
    """Receiver of ``contrib.signals.price_quoted``: publish the stored price after commit."""
    publish_price(symbol=symbol, price=price, ts=ts, previous_close=previous_close, simulated=simulated)


def publish_prices(updates: Iterable[PriceUpdate]) -> list[PriceUpdate]:
    updates = list(updates)
    if updates and all(u.simulated for u in updates):
        broadcast_prices(updates)  # never stored: nothing to wait for
    elif updates:
        transaction.on_commit(functools.partial(broadcast_prices, updates))
    return updates


def broadcast_prices(updates: list[PriceUpdate]) -> None:
    """Send now (sync callers). Never raises: a failed broadcast is logged, the stored price stays."""
    try:
        async_to_sync(abroadcast_prices)(updates)
    except Exception:
        logger.exception("broadcast of %d price(s) failed", len(updates))


# ---------------------------------------------------------------------------------------------
# The broadcast itself (async: the event loop of a server process, the feed, the benchmark)
# ---------------------------------------------------------------------------------------------
async def abroadcast_prices(updates: list[PriceUpdate], *, portfolios: bool = True) -> int:
    """Group-send each price, then the new value of each watched portfolio holding one of them.
    Returns the number of group messages sent."""
    layer = price_layer()  # quotes.<SYMBOL>: the hubs' layer (realtime/hub.py)
    if layer is None or not updates:
        return 0
    missing = [u for u in updates if u.previous_close is None and not u.simulated]
    if missing:
        closes = await database_sync_to_async(previous_closes)(missing)
        updates = [
            PriceUpdate(u.symbol, u.price, u.ts, closes.get((u.symbol, utc_day(u.ts))), u.simulated)
            if u in missing
            else u
            for u in updates
        ]
    sends = [_group_send(layer, quote_group(u.symbol), price_event(u)) for u in updates]
    sent = sum(await asyncio.gather(*sends))
    if portfolios and await awatched_portfolios():
        messages = await database_sync_to_async(portfolio_messages)(updates)
        default = get_channel_layer()  # portfolio.<id>: the portfolio consumers' own channels
        sends = [_group_send(default, portfolio_group(m["id"]), portfolio_event(m)) for m in messages]
        sent += sum(await asyncio.gather(*sends))
    return sent


_watched: tuple[float, frozenset[int]] = (-1.0, frozenset())
WATCHED_TTL = 1.0


async def awatched_portfolios() -> frozenset[int]:
    """The watched portfolios, re-read at most once a second: a hot feed does not read Redis per
    price, and a new portfolio stream gets its current value on connect anyway."""
    global _watched  # noqa: PLW0603 - a per-process cache
    if redis_url() is None:  # embedded: this process's own counters
        return frozenset(tracker.portfolios)
    at, ids = _watched
    if time.monotonic() - at > WATCHED_TTL:
        ids = frozenset(await sync_to_async(watched_portfolios, thread_sensitive=False)())
        _watched = (time.monotonic(), ids)
    return ids


async def _group_send(layer, group: str, event: dict) -> int:
    try:
        await layer.group_send(group, event)
    except ChannelFull:
        # Layers that raise instead of dropping per channel: the slow members lose this message,
        # the publisher and the other groups carry on.
        logger.warning("channel layer full: dropped %s for group %s", event["type"], group)
        return 0
    return 1


def previous_closes(updates: list[PriceUpdate]) -> dict[tuple[str, dt.date], Decimal]:
    """The last stored close strictly before each update's day; one query per distinct day."""
    out: dict[tuple[str, dt.date], Decimal] = {}
    by_day: dict[dt.date, set[str]] = {}
    for u in updates:
        by_day.setdefault(utc_day(u.ts), set()).add(u.symbol)
    for day, symbols in by_day.items():
        bars = PriceBar.objects.filter(asset=OuterRef("pk"), date__lt=day).order_by("-date")
        rows = (
            Asset.objects.filter(symbol__in=symbols)
            .annotate(prev=Subquery(bars.values("close")[:1]))
            .values_list("symbol", "prev")
        )
        out.update({(symbol, day): prev for symbol, prev in rows if prev is not None})
    return out


def portfolio_messages(updates: list[PriceUpdate]) -> list[dict]:
    """New values of the watched portfolios that hold one of the updated symbols."""
    watched = watched_portfolios()
    if not watched:
        return []
    symbols = {u.symbol for u in updates}
    ids = set(
        Transaction.objects.filter(portfolio_id__in=watched, asset__symbol__in=symbols).values_list(
            "portfolio_id", flat=True
        )
    )
    if not ids:
        return []
    overrides = {u.symbol: u.price for u in updates}
    ts = max(u.ts for u in updates)
    messages = []
    for portfolio in Portfolio.objects.filter(pk__in=ids):
        try:
            messages.append(portfolio_message(portfolio_live_value(portfolio=portfolio, overrides=overrides, ts=ts)))
        except Exception:
            logger.exception("portfolio %s: live value failed", portfolio.pk)
    return messages
