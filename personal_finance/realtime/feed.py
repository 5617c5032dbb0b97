"""The live feed: new prices for every subscribed or held symbol, every ``FEED_INTERVAL`` seconds.

- live: the latest quotes of the symbols whose exchange is in session (exchange_calendars),
  from the provider chain without its offline providers; stored as the day's bar by
  ``update_latest_quotes``, which publishes them.
- simulated: when the chain has no live provider (only ``csv``/``sample``), when the network is
  unreachable (a probe of the live chain, repeated every ``PROBE_INTERVAL``), or when asked
  (``--simulate`` / ``REALTIME_FEED=simulate``). A random walk from the last stored close,
  at every hour so the offline demo moves; never stored; every message has ``"simulated": true``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import random
import time
from decimal import ROUND_HALF_UP, Decimal

import exchange_calendars as xc
import pandas as pd
from django.conf import settings
from django.utils import timezone

from personal_finance.assets.models import Asset
from personal_finance.assets.selectors import assets_with_last_price
from personal_finance.data_profiler.calendars import calendar_for
from personal_finance.data_sources.base import ProviderError
from personal_finance.data_sources.chain import build_chain
from personal_finance.data_sources.services import held_symbols, update_latest_quotes

from .messages import PriceUpdate
from .services import publish_prices
from .tracker import conf, subscribed_symbols, tracker

logger = logging.getLogger("personal_finance.realtime")

OFFLINE_PROVIDERS = frozenset({"csv", "sample"})
MODES = ("auto", "live", "simulate")


@functools.lru_cache(maxsize=64)
def _calendar(name: str):

    return xc.get_calendar(name)


def is_trading(calendar: str | None, now: dt.datetime) -> bool:
    """Whether ``now`` is inside a session of ``calendar`` (None: trades around the clock)."""
    if calendar is None:
        return True
    try:
        return bool(_calendar(calendar).is_open_on_minute(pd.Timestamp(now).floor("min")))
    except Exception:  # outside the calendar's bounds, unknown name: do not block the feed
        logger.debug("calendar %s: cannot tell whether %s is in session", calendar, now, exc_info=True)
        return True


class PriceFeed:
    def __init__(
        self,
        *,
        mode: str | None = None,
        interval: float | None = None,
        step_pct: float | None = None,
        chain=None,
        rng: random.Random | None = None,
        now=timezone.now,
    ):
        self.mode = mode or conf("FEED")
        if self.mode not in MODES:
            raise ValueError(f"unknown feed mode {self.mode!r}: use one of {', '.join(MODES)}")
        self.interval = float(interval if interval is not None else conf("FEED_INTERVAL"))
        self.step = float(step_pct if step_pct is not None else conf("SIMULATED_STEP_PCT")) / 100
        self.rng = rng or random.Random()  # noqa: S311 - a demo random walk, not cryptography
        self.now = now
        self._chain = chain
        self.walk: dict[str, tuple[Decimal, Decimal | None, Decimal]] = {}  # price, previous close, tick
        self.network_checked_at = -math.inf
        self.network = False
        self.ticks = 0
        self.published = 0

    # -- configuration ------------------------------------------------------------------------
    def live_provider_names(self) -> list[str]:
        names = settings.MARKET_DATA.get("PROVIDERS", [])
        return [n for n in names if n not in OFFLINE_PROVIDERS]

    @property
    def chain(self):
        if self._chain is None:
            self._chain = build_chain(self.live_provider_names())
        return self._chain

    def effective_mode(self) -> str:
        if self.mode == "simulate":
            return "simulate"
        if self.mode == "auto" and not (self._chain is not None or self.live_provider_names()):
            return "simulate"
        return "live"

    # -- symbols ------------------------------------------------------------------------------
    def symbols(self) -> dict[str, str | None]:
        """Every subscribed or held symbol that is a known asset -> its exchange calendar."""
        wanted = subscribed_symbols() | set(held_symbols())
        rows = Asset.objects.filter(symbol__in=wanted).values_list("symbol", "exchange", "asset_class")
        out = {}
        for symbol, exchange, asset_class in rows:
            out[symbol] = calendar_for(symbol=symbol, exchange=exchange, asset_class=asset_class)
        return dict(sorted(out.items()))

    # -- one round ------------------------------------------------------------------------------
    def tick(self) -> dict:
        started = time.monotonic()
        symbols = self.symbols()
        mode = self.effective_mode()
        report: dict = {"mode": mode, "symbols": len(symbols), "live": [], "simulated": [], "closed": []}
        if symbols and mode == "live":
            if self.network_up(next(iter(symbols))):
                now = self.now()
                open_ = [s for s, cal in symbols.items() if is_trading(cal, now)]
                report["closed"] = [s for s in symbols if s not in open_]
                report["live"] = self.poll(open_) if open_ else []
            elif self.mode == "auto":
                report["mode"] = "simulate (network unreachable)"
                report["simulated"] = self.simulate(list(symbols))
            else:
                logger.warning("live feed: no live provider reachable; nothing published")
        elif symbols:
            report["simulated"] = self.simulate(list(symbols))
        self.ticks += 1
        self.published += len(report["live"]) + len(report["simulated"])
        report["ms"] = round((time.monotonic() - started) * 1000, 1)
        tracker.set_feed(
            {
                "mode": report["mode"],
                "interval": self.interval,
                "symbols": len(symbols),
                "ticks": self.ticks,
                "published": self.published,
                "last_tick": timezone.now().isoformat(),
            }
        )
        return report

    def network_up(self, probe_symbol: str) -> bool:
        """Whether the live chain answers; probed at most every ``PROBE_INTERVAL`` seconds."""
        if time.monotonic() - self.network_checked_at < float(conf("PROBE_INTERVAL")):
            return self.network
        try:
            answer = self.chain.latest_quotes([probe_symbol])
            self.network = not all(isinstance(r, ProviderError) and r.transient for r in answer.values())
        except Exception:
            logger.warning("live feed: probe failed", exc_info=True)
            self.network = False
        self.network_checked_at = time.monotonic()
        if not self.network:
            logger.info("live feed: providers unreachable; simulating until the next probe")
        return self.network

    def poll(self, symbols: list[str]) -> list[str]:
        """Latest quotes, stored as the day's bar and published by ``update_latest_quotes``."""
        result = update_latest_quotes(symbols=symbols, chain=self.chain)
        if result["failed"]:
            logger.info("live feed: %d symbol(s) failed: %s", len(result["failed"]), result["failed"])
            if not result["stored"]:
                self.network_checked_at = -math.inf  # probe again at the next tick
        return sorted(result["stored"])

    def simulate(self, symbols: list[str]) -> list[str]:
        """One random-walk step per symbol from the last stored close; published, not stored."""
        self._seed_walk([s for s in symbols if s not in self.walk])
        now = self.now()
        updates = []
        for symbol in symbols:
            if symbol not in self.walk:
                continue  # no stored price to start from
            price, previous_close, tick = self.walk[symbol]
            price = Decimal(repr(float(price) * math.exp(self.rng.gauss(0.0, self.step)))).quantize(
                tick, rounding=ROUND_HALF_UP
            )
            price = max(price, tick)
            self.walk[symbol] = (price, previous_close, tick)
            updates.append(PriceUpdate(symbol, price, now, previous_close, simulated=True))
        publish_prices(updates)
        return [u.symbol for u in updates]

    def _seed_walk(self, symbols: list[str]) -> None:
        if not symbols:
            return
        today = self.now().astimezone(dt.UTC).date()
        ids = dict(Asset.objects.filter(symbol__in=symbols).values_list("pk", "symbol"))
        last = assets_with_last_price(ids, as_of=today)
        before = assets_with_last_price(ids, as_of=today - dt.timedelta(days=1))
        for pk, asset in last.items():
            if asset.last_close is None:
                continue
            close = Decimal(asset.last_close)
            tick = Decimal("0.0001") if close < 1 else Decimal("0.01")
            self.walk[asset.symbol] = (close.quantize(tick), before[pk].last_close or close, tick)
