"""Validated bulk ingestion of daily bars.

The bars are written by the one upsert, ``assets.services.price_bars_upsert`` (``COPY`` into a
staging table on PostgreSQL). Each symbol is stored in its own transaction by the caller, so one
bad symbol never loses another's rows. Rows the data profiler marks as errors are refused and
named, never silently dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import transaction

from personal_finance.assets.models import Asset, CorporateAction, PriceBar
from personal_finance.assets.services import COLUMNS, price_bars_upsert, price_series_refresh
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.data_profiler.calendars import calendar_for
from personal_finance.data_profiler.checks import profile_frame
from personal_finance.data_profiler.services import profile_asset

from .base import History

logger = logging.getLogger("personal_finance.data_sources")

FRAME_TO_DB = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}


class IngestRefused(ApplicationError):
    """The profiler found errors in rows of this series; nothing of it was stored."""


@dataclass
class IngestResult:
    symbol: str
    source: str
    rows_written: int = 0
    refused: list[dict] = field(default_factory=list)
    splits: int = 0
    dividends: int = 0
    start: str | None = None
    end: str | None = None
    sample: bool = False

    def as_dict(self) -> dict:
        return {
            "symbol": self.symbol,
            "source": self.source,
            "sample": self.sample,
            "rows_written": self.rows_written,
            "refused": self.refused,
            "splits": self.splits,
            "dividends": self.dividends,
            "start": self.start,
            "end": self.end,
        }


# --- adjusted prices ---------------------------------------------------------------------------------
def adjusted_closes(closes: pd.Series, splits: pd.Series, dividends: pd.Series) -> pd.Series:
    """Back-adjust closes for splits and cash dividends (the usual CRSP-style factors).

    A split of ratio r on day d divides every earlier close by r; a dividend D on ex-day d
    multiplies every earlier close by (1 - D / close of the previous day).
    """
    closes = closes.sort_index()
    index = closes.index
    factor = pd.Series(1.0, index=index)
    for day, ratio in splits.items():
        if ratio and ratio > 0:
            factor[index < pd.Timestamp(day)] /= float(ratio)
    prev = closes.shift(1)
    for ex_date, amount in dividends.items():
        day = pd.Timestamp(ex_date)
        pos = index.searchsorted(day)
        if 0 < pos < len(index) and prev.iloc[pos] > 0:
            factor[index < day] *= 1 - float(amount) / float(prev.iloc[pos])
    return closes * factor


# --- provider frames as price rows -----------------------------------------------------------------
def frame_to_rows(asset_id: int, bars: pd.DataFrame, source: str) -> pd.DataFrame:
    """A provider's bars (Open/High/Low/Close/Adj Close/Volume columns on a date index) as the
    rows of ``price_bars_upsert`` (columns ``COLUMNS``, ISO dates)."""
    rows = pd.DataFrame(index=range(len(bars)))
    rows["asset_id"] = asset_id
    rows["date"] = pd.DatetimeIndex(bars.index).strftime("%Y-%m-%d")
    for frame_col, db_col in FRAME_TO_DB.items():
        if frame_col in bars.columns:
            values = bars[frame_col].to_numpy()
            rows[db_col] = (
                pd.array(np.round(values).astype("float64"), dtype="Int64") if db_col == "volume" else values
            )
        else:
            rows[db_col] = None
    rows["source"] = source
    return rows[list(COLUMNS)]


# --- validated ingestion of one symbol ---------------------------------------------------------------
def _profile_errors(asset: Asset, history: History) -> list[dict]:
    """Rows the data profiler marks as errors: [{"date": ISO, "checks": [...]}]."""
    known_splits = {pd.Timestamp(d).date() for d in history.actions.splits.index}
    known_splits |= set(CorporateAction.objects.filter(asset=asset, kind="split").values_list("date", flat=True))
    report = profile_frame(
        history.bars,
        calendar=calendar_for(symbol=asset.symbol, exchange=asset.exchange, asset_class=asset.asset_class),
        known_splits=sorted(known_splits),
    )
    by_date: dict[str, list[str]] = {}
    for finding in report["findings"]:
        if finding["severity"] != "error":
            continue
        for day in finding["dates"]:
            by_date.setdefault(str(day)[:10], []).append(finding["check"])
    return [{"date": d, "checks": sorted(set(c))} for d, c in sorted(by_date.items())]


def ingest_history(*, asset: Asset, history: History, partial: bool = False) -> IngestResult:
    """Validate and store one symbol's history atomically; returns what was written and refused."""
    bars = history.bars
    result = IngestResult(symbol=asset.symbol, source=history.source, sample=history.sample)
    if bars.empty:
        return result
    refused = _profile_errors(asset, history)
    if refused and not partial:
        first = ", ".join(f"{r['date']} ({'/'.join(r['checks'])})" for r in refused[:5])
        more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
        raise IngestRefused(
            f"{asset.symbol}: {len(refused)} rows with errors, nothing stored: {first}{more}",
            errors={r["date"]: r["checks"] for r in refused[:50]},
        )
    if refused:
        bad = pd.DatetimeIndex([r["date"] for r in refused])
        bars = bars[~pd.DatetimeIndex(bars.index).normalize().isin(bad)]
        result.refused = refused
    bars = bars[~bars.index.duplicated(keep="last")].sort_index()
    with transaction.atomic():
        result.splits, result.dividends = store_actions(asset, history)
        if "Adj Close" not in bars.columns or bars["Adj Close"].isna().all():
            bars = bars.assign(**{"Adj Close": np.nan})
        result.rows_written = price_bars_upsert(frame_to_rows(asset.pk, bars, history.source), refresh=False)
        if bars["Adj Close"].isna().any():
            recompute_adjusted(asset)
        price_series_refresh(asset_ids=[asset.pk])
        profile_asset(asset)  # keep the stored data-quality profile in step with the bars
    result.start = bars.index.min().date().isoformat() if len(bars) else None
    result.end = bars.index.max().date().isoformat() if len(bars) else None
    logger.info(
        "stored %s bars of %s from %s (%d refused)",
        result.rows_written,
        asset.symbol,
        history.source,
        len(result.refused),
    )
    return result


def store_actions(asset: Asset, history: History) -> tuple[int, int]:
    rows = [
        CorporateAction(asset=asset, date=pd.Timestamp(d).date(), kind="split", ratio=Decimal(repr(float(v))))
        for d, v in history.actions.splits.items()
        if v and v > 0
    ] + [
        CorporateAction(asset=asset, date=pd.Timestamp(d).date(), kind="dividend", amount=Decimal(repr(float(v))))
        for d, v in history.actions.dividends.items()
        if v and v > 0
    ]
    if rows:
        CorporateAction.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["asset", "date", "kind"], update_fields=["ratio", "amount"]
        )
    return len(history.actions.splits), len(history.actions.dividends)


def recompute_adjusted(asset: Asset) -> int:
    """Recompute ``adj_close`` of every stored bar of ``asset`` from its stored actions."""
    data = list(PriceBar.objects.filter(asset=asset).order_by("date").values_list("date", "close"))
    if not data:
        return 0
    index = pd.DatetimeIndex([d for d, _ in data])
    closes = pd.Series([float(c) for _, c in data], index=index)
    actions = list(CorporateAction.objects.filter(asset=asset).values_list("date", "kind", "ratio", "amount"))
    # The model's constraint guarantees a ratio on splits and an amount on dividends.
    splits = pd.Series({pd.Timestamp(d): float(r or 0) for d, k, r, _ in actions if k == "split"}, dtype="float64")
    dividends = pd.Series(
        {pd.Timestamp(d): float(a or 0) for d, k, _, a in actions if k == "dividend"}, dtype="float64"
    )
    adjusted = adjusted_closes(closes, splits, dividends).round(8)
    rows = pd.DataFrame(
        {"asset_id": asset.pk, "date": [d.date() for d in index], "close": closes.values, "adj_close": adjusted.values}
    )
    return price_bars_upsert(rows, update=("adj_close",), refresh=False)
