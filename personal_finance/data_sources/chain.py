"""The provider chain: fallback across providers, rate limiting, retries with backoff and jitter,
and a circuit breaker per provider whose state is stored in ``ProviderState``."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .base import History, PriceProvider, ProviderError, ProviderUnavailable, Quote, SymbolNotFound
from .cassette import ReplayClient
from .csv_provider import CSVProvider
from .models import ProviderState
from .sample import SampleProvider
from .yahoo import YahooProvider

logger = logging.getLogger("personal_finance.data_sources")


class RateLimiter:
    """At most ``rate`` calls per second per provider in this process (token bucket)."""

    def __init__(self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.rate = rate
        self.capacity = max(1, burst)
        self.tokens = float(self.capacity)
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a token; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
            self.tokens -= 1
        if wait:
            self.sleep(wait)
        return wait


class CircuitBreaker:
    """Opens after ``threshold`` consecutive transient failures; skips the provider for
    ``cooldown`` seconds, then lets one trial call through (half open)."""

    def __init__(self, name: str, *, threshold: int, cooldown: float):
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown

    def _state(self) -> ProviderState:
        state, _ = ProviderState.objects.get_or_create(name=self.name)
        return state

    def allow(self) -> bool:
        state = self._state()
        if state.state == ProviderState.State.OPEN:
            if state.open_until and timezone.now() >= state.open_until:
                ProviderState.objects.filter(pk=state.pk).update(state=ProviderState.State.HALF_OPEN)
                return True
            return False
        return True

    def success(self) -> None:
        now = timezone.now()
        with transaction.atomic():
            state = ProviderState.objects.select_for_update().get(pk=self._state().pk)
            state.state = ProviderState.State.CLOSED
            state.consecutive_failures = 0
            state.open_until = None
            state.calls += 1
            state.last_success_at = now
            state.save()

    def failure(self, error: Exception) -> None:
        now = timezone.now()
        with transaction.atomic():
            state = ProviderState.objects.select_for_update().get(pk=self._state().pk)
            state.calls += 1
            state.failures += 1
            state.consecutive_failures += 1
            state.last_error = str(error)[:2000]
            state.last_error_at = now
            if state.state == ProviderState.State.HALF_OPEN or state.consecutive_failures >= self.threshold:
                if state.state != ProviderState.State.OPEN:
                    logger.warning("provider %s circuit opened for %ss: %s", self.name, self.cooldown, error)
                state.state = ProviderState.State.OPEN
                state.open_until = now + dt.timedelta(seconds=self.cooldown)
            state.save()


def backoff_delays(retries: int, base: float, cap: float, rng: random.Random | None = None) -> list[float]:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    return [rng.uniform(0, min(cap, base * 2**attempt)) for attempt in range(retries)]


class ProviderChain:
    def __init__(
        self,
        providers: list[PriceProvider],
        *,
        retries: int | None = None,
        backoff_base: float | None = None,
        backoff_cap: float = 30.0,
        threshold: int | None = None,
        cooldown: float | None = None,
        rate: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        conf = getattr(settings, "MARKET_DATA", {})
        self.providers = providers
        self.retries = conf.get("RETRIES", 2) if retries is None else retries
        self.backoff_base = conf.get("BACKOFF_BASE", 0.5) if backoff_base is None else backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        threshold = conf.get("BREAKER_THRESHOLD", 3) if threshold is None else threshold
        cooldown = conf.get("BREAKER_COOLDOWN", 300) if cooldown is None else cooldown
        rate = conf.get("RATE_PER_SECOND", 2.0) if rate is None else rate
        self.breakers = {p.name: CircuitBreaker(p.name, threshold=threshold, cooldown=cooldown) for p in providers}
        self.limiters = {p.name: RateLimiter(rate, sleep=sleep) for p in providers}

    def _call(self, provider: PriceProvider, method: str, symbols: list[str], *args) -> dict:
        """Call one provider with retries on transient failures of the whole call or of every
        symbol; returns per-symbol results (values may be errors)."""
        delays = backoff_delays(self.retries, self.backoff_base, self.backoff_cap)
        attempt = 0
        while True:
            self.limiters[provider.name].acquire()
            try:
                results = getattr(provider, method)(symbols, *args)
            except ProviderError as exc:
                results = dict.fromkeys(symbols, exc)
            except Exception as exc:
                logger.exception("provider %s failed unexpectedly", provider.name)
                results = dict.fromkeys(symbols, ProviderError(f"{type(exc).__name__}: {exc}", provider=provider.name))
                results = {s: _as_transient(e) for s, e in results.items()}
            transient = [r for r in results.values() if isinstance(r, ProviderError) and r.transient]
            if not transient or len(transient) < len(symbols) or attempt >= len(delays):
                return results
            wait = max(delays[attempt], getattr(transient[0], "retry_after", None) or 0)
            logger.info("provider %s: %s; retry %d in %.2fs", provider.name, transient[0], attempt + 1, wait)
            self.sleep(wait)
            attempt += 1

    def _run(self, method: str, symbols: list[str], *args) -> dict[str, Any]:
        pending = list(dict.fromkeys(symbols))
        results: dict[str, Any] = {}
        last_error: dict[str, ProviderError] = {}
        for provider in self.providers:
            if not pending:
                break
            breaker = self.breakers[provider.name]
            if not breaker.allow():
                logger.debug("provider %s skipped: circuit open", provider.name)
                continue
            answer = self._call(provider, method, pending, *args)
            ok = [s for s, r in answer.items() if not isinstance(r, ProviderError)]
            transient = [r for r in answer.values() if isinstance(r, ProviderError) and r.transient]
            if ok or not transient:
                breaker.success()
            else:
                breaker.failure(transient[0])
            for symbol, result in answer.items():
                if isinstance(result, ProviderError):
                    last_error[symbol] = result
                else:
                    results[symbol] = result
            pending = [s for s in pending if s not in results]
        for symbol in pending:
            error = last_error.get(symbol)
            if error is None or error.transient:
                error = ProviderUnavailable(
                    f"no provider could serve {symbol}" + (f" (last error: {error})" if error else " (all skipped)"),
                    symbol=symbol,
                )
            results[symbol] = error
        return results

    def history(
        self, symbols: list[str], start: dt.date, end: dt.date | None = None
    ) -> dict[str, History | ProviderError]:
        return self._run("history", symbols, start, end)

    def latest_quotes(self, symbols: list[str]) -> dict[str, Quote | ProviderError]:
        return self._run("latest_quotes", symbols)

    def _single(self, method: str, *args):
        last: ProviderError | None = None
        for provider in self.providers:
            if not self.breakers[provider.name].allow():
                continue
            self.limiters[provider.name].acquire()
            try:
                value = getattr(provider, method)(*args)
            except ProviderError as exc:
                last = exc
                if exc.transient:
                    self.breakers[provider.name].failure(exc)
                continue
            self.breakers[provider.name].success()
            return value, provider
        if last is not None and not last.transient:
            raise last
        raise ProviderUnavailable(f"no provider could answer {method}{args}" + (f": {last}" if last else ""))

    def asset_info(self, symbol: str):
        return self._single("asset_info", symbol)[0]

    def fx_rates(self, base: str, quote: str, start: dt.date, end: dt.date | None = None):
        """(series, provider) of daily rates."""
        return self._single("fx_rates", base, quote, start, end)


def _as_transient(error: ProviderError) -> ProviderError:
    error.transient = True
    return error


def build_chain(names: list[str] | None = None, **kwargs) -> ProviderChain:
    """The configured chain (``MARKET_DATA["PROVIDERS"]``, e.g. yahoo, csv, sample)."""
    conf = getattr(settings, "MARKET_DATA", {})
    providers: list[PriceProvider] = []
    for name in names or conf.get("PROVIDERS", ["yahoo", "csv", "sample"]):
        providers.append(make_provider(name))
    return ProviderChain(providers, **kwargs)


def make_provider(name: str) -> PriceProvider:
    conf = getattr(settings, "MARKET_DATA", {})
    if name == "yahoo":
        cassette = conf.get("YAHOO_CASSETTE")
        if cassette:
            return YahooProvider(client=ReplayClient(cassette))
        return YahooProvider()
    if name == "csv":
        return CSVProvider(conf.get("CSV_DIR"))
    if name == "sample":
        return SampleProvider()
    raise ValueError(f"unknown market data provider {name!r}")


__all__ = ["ProviderChain", "SymbolNotFound", "build_chain"]
