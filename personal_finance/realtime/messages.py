"""The messages of the streams (docs/contracts.md#websocket-protocol) and their channel-layer
events: pure formatting, shared by the publishing service and the selectors."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

PCT = Decimal("0.01")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceUpdate:
    symbol: str
    price: Decimal
    ts: dt.datetime
    previous_close: Decimal | None = None
    simulated: bool = False


@dataclass(frozen=True, slots=True)
class LiveValue:
    """A portfolio's value at ``ts`` and its change since the previous close, in its base
    currency (``selectors.portfolio_live_value``)."""

    portfolio_id: int
    value: Decimal
    day_change: Decimal
    complete: bool  # False while an open position has no price or no FX rate yet
    ts: dt.datetime


def decimal_text(value: Decimal) -> str:
    """``187.23000000`` -> ``"187.23"``; never an exponent."""
    return format(Decimal(value).normalize(), "f")


def iso_z(ts: dt.datetime) -> str:
    if timezone.is_naive(ts):
        ts = timezone.make_aware(ts, dt.UTC)
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_day(ts: dt.datetime) -> dt.date:
    return (ts if timezone.is_aware(ts) else timezone.make_aware(ts, dt.UTC)).astimezone(dt.UTC).date()


def price_message(update: PriceUpdate) -> dict:
    """The client message of the price stream: ``{"type": "price", "symbol", "price", "change_pct", "ts"}``,
    plus ``"simulated": true`` for the simulated feed. ``change_pct`` is against the previous
    close, ``null`` when no earlier close is stored."""
    change = None
    if update.previous_close:
        change = str(((Decimal(update.price) / Decimal(update.previous_close) - 1) * 100).quantize(PCT))
    message: dict[str, object] = {
        "type": "price",
        "symbol": update.symbol,
        "price": decimal_text(update.price),
        "change_pct": change,
        "ts": iso_z(update.ts),
    }
    if update.simulated:
        message["simulated"] = True
    return message


def price_event(update: PriceUpdate) -> dict:
    """The channel-layer event: the client text is serialised once, not once per subscriber."""
    return {"type": "price.update", "symbol": update.symbol, "text": json.dumps(price_message(update))}


def portfolio_message(live: LiveValue) -> dict:
    """The client message of a portfolio stream: ``{"type": "portfolio", "id", "value",
    "day_change", "ts"}``, plus ``"complete": false`` while a holding
    has no price or no FX rate yet."""
    message = {
        "type": "portfolio",
        "id": live.portfolio_id,
        "value": str(live.value.quantize(CENT)),
        "day_change": str(live.day_change.quantize(CENT)),
        "ts": iso_z(live.ts),
    }
    if not live.complete:
        message["complete"] = False
    return message


def portfolio_event(message: dict) -> dict:
    return {"type": "portfolio.update", "id": message["id"], "text": json.dumps(message)}
