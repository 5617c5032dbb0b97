"""Reads that feed the engine from storage (the ORM stays here; the engine gets float arrays), and
the owner-scoped reads of stored runs and sweeps."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypedDict, cast

import numpy as np
import pandas as pd
from django.db.models import QuerySet

from personal_finance.assets.selectors import asset_by_symbol, price_bars
from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.models import BacktestRun, Sweep
from personal_finance.contrib.services import OwnerScopedService


class ChunksDone(TypedDict):
    chunks_done: int


if TYPE_CHECKING:  # django-stubs-ext is a development dependency: types only
    from typing import TypeAlias

    from django_stubs_ext import WithAnnotations

    # A Sweep with its number of finished chunks, as the sweep list shows it.
    SweepWithProgress: TypeAlias = WithAnnotations[Sweep, ChunksDone]


class PricesUnavailableError(BacktestInputError):
    """No stored prices for the symbol."""


def load_prices_for_symbol(
    symbol: str, *, start: dt.date | None = None, end: dt.date | None = None, adjusted: bool = True
) -> pd.DataFrame:
    """Stored daily bars of ``symbol`` as the engine wants them: a float DataFrame with ``Open``,
    ``High``, ``Low``, ``Close`` columns on an ascending tz-naive DatetimeIndex (``start``/``end``
    inclusive dates).

    ``adjusted``: when every bar has an ``adj_close``, Open/High/Low/Close are scaled by
    ``adj_close / close`` so splits and dividends do not show up as jumps; otherwise prices are as
    traded. Bars without an open/high/low stay NaN, which the engine refuses with the date.
    Raises :class:`PricesUnavailableError` when the asset or its prices are not stored.
    """
    asset = asset_by_symbol(symbol)
    if asset is None:
        raise PricesUnavailableError(
            f"no stored prices for {symbol.strip().upper()}: the asset is unknown; fetch it first "
            f"(manage.py fetch_prices {symbol.strip().upper()}) or pass --prices FILE.csv",
            field="symbol",
        )
    rows = list(
        price_bars(asset=asset, start=start, end=end).values_list("date", "open", "high", "low", "close", "adj_close")
    )
    if not rows:
        raise PricesUnavailableError(
            f"no stored prices for {asset.symbol} in the requested dates; fetch them first "
            f"(manage.py fetch_prices {asset.symbol}) or pass --prices FILE.csv",
            field="symbol",
        )
    dates, *columns = zip(*rows, strict=True)
    values = np.array([[np.nan if v is None else float(v) for v in col] for col in columns], dtype=np.float64).T
    ohlc, adj = values[:, :4], values[:, 4]
    if adjusted and not np.isnan(adj).any():
        ohlc = ohlc * (adj / ohlc[:, 3])[:, None]
    index = pd.DatetimeIndex(pd.to_datetime(list(dates)), name="Date")
    return pd.DataFrame(ohlc, index=index, columns=["Open", "High", "Low", "Close"])


def load_prices(
    symbols: list[str], *, start: dt.date | None = None, end: dt.date | None = None
) -> tuple[pd.DataFrame | dict[str, pd.DataFrame], str | None]:
    """Prices of one symbol (``(DataFrame, symbol)``) or several (``({symbol: DataFrame}, None)``),
    the shapes ``run_backtest(prices, ..., symbol=symbol)`` takes."""
    frames = {s: load_prices_for_symbol(s, start=start, end=end) for s in symbols}
    if len(frames) == 1:
        ((symbol, frame),) = frames.items()
        return frame, symbol
    return frames, None


# ------------------------------------------------------------------------------------------------
# Stored runs and sweeps (owner-scoped: another user's objects are "not found")
# ------------------------------------------------------------------------------------------------
class BacktestRunService(OwnerScopedService[BacktestRun]):
    model = BacktestRun
    owner_field = "owner"


class SweepService(OwnerScopedService[Sweep]):
    model = Sweep
    owner_field = "owner"


#: The heavy JSON columns a list never shows.
LIST_DEFERRED = ("equity", "buy_hold")


def backtest_run_list(*, user: Any) -> QuerySet[BacktestRun]:
    return BacktestRunService(user).get_queryset().defer(*LIST_DEFERRED).order_by("-created_at", "-id")


def backtest_run_detail_queryset(*, user: Any, with_equity: bool = True) -> QuerySet[BacktestRun]:
    """Runs with their trades (one extra query, whatever the number of trades)."""
    qs = BacktestRunService(user).get_queryset().prefetch_related("trades")
    return qs if with_equity else qs.defer(*LIST_DEFERRED)


class _BacktestRunDetailService(BacktestRunService):
    """Gets a run from :func:`backtest_run_detail_queryset` (its trades prefetched)."""

    def __init__(self, user: Any, *, with_equity: bool) -> None:
        super().__init__(user)
        self.with_equity = with_equity

    def get_queryset(self) -> QuerySet[BacktestRun]:
        return backtest_run_detail_queryset(user=self.user, with_equity=self.with_equity)


def backtest_run_get(*, user: Any, pk: object, with_equity: bool = True) -> BacktestRun:
    return _BacktestRunDetailService(user, with_equity=with_equity).get(pk)


def sweep_list(*, user: Any) -> QuerySet[Sweep]:
    return SweepService(user).get_queryset().defer("combos", "grid", "skipped").order_by("-created_at", "-id")


def sweep_get(*, user: Any, pk: object) -> Sweep:
    return SweepService(user).get(pk)


def with_chunks_done(sweep: Sweep) -> SweepWithProgress:
    """``sweep`` with ``chunks_done`` set (one COUNT query), as the sweep list's
    ``annotate(chunks_done=Count("chunks"))`` gives it."""
    annotated = cast("SweepWithProgress", sweep)
    annotated.chunks_done = sweep.chunks.count()
    return annotated


def sweep_table(*, sweep: Sweep, limit: int | None = None) -> list[dict[str, Any]]:
    """The ranked table of a gathered sweep, best first: ``rank``, the parameters, the metric, then
    the other figures (top ``limit`` rows)."""
    qs = sweep.results.filter(rank__isnull=False).order_by("rank").values_list("rank", "params", "figures")
    if limit:
        qs = qs[:limit]
    return [{"rank": rank, **params, **figures} for rank, params, figures in qs]
