"""Writes of shared market data."""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import F

from personal_finance.contrib.services import clean_or_raise
from personal_finance.contrib.signals import price_quoted, prices_changed

from .models import Asset, AssetClass, FxRate, PriceBar, PriceSeries


def normalize_symbol(symbol: str) -> str:
    return (symbol or "").strip().upper()


@transaction.atomic
def asset_create(
    *, symbol: str, name: str = "", asset_class: str = AssetClass.EQUITY, currency: str = "USD", **extra
) -> Asset:
    asset = Asset(
        symbol=normalize_symbol(symbol), name=name, asset_class=asset_class, currency=currency.upper(), **extra
    )
    clean_or_raise(asset, message="Invalid asset.")
    asset.save()
    return asset


def asset_get_or_create(*, symbol: str, currency: str = "USD", **defaults) -> tuple[Asset, bool]:
    existing = Asset.objects.filter(symbol=normalize_symbol(symbol)).first()
    if existing is not None:
        return existing, False
    return asset_create(symbol=symbol, currency=currency, **defaults), True


BAR_FIELDS = ("open", "high", "low", "close", "adj_close", "volume", "source")
COLUMNS = ("asset_id", "date", *BAR_FIELDS)
# PostgreSQL takes larger batches through COPY into a staging table; smaller ones (a live quote,
# a test's bars) through the ORM's bulk upsert, which costs less for a few rows.
COPY_MIN_ROWS = 500
_STAGE = "pf_pricebar_stage"


def price_bars_upsert(
    bars: pd.DataFrame | Iterable[Mapping],
    *,
    asset: Asset | None = None,
    source: str = "",
    update: Sequence[str] = BAR_FIELDS,
    refresh: bool = True,
) -> int:
    """The one write of daily bars: insert each row, or update the stored bar of the same asset and
    date. Returns the number of rows written.

    ``bars``: a DataFrame with the columns ``COLUMNS`` (missing bar columns are NULL), or mappings
    with ``date``, any of ``BAR_FIELDS`` and ``asset_id`` (or ``asset``). ``asset`` and ``source``
    fill in bars that name none (one asset's series from one source). ``update``: the columns a
    stored bar takes from the new row; the others keep their stored value (a live quote updates
    only ``close`` and ``source``). A key repeated in ``bars`` keeps its last row. ``refresh``:
    rebuild the packed series of the touched assets (``price_series_refresh``, which announces
    ``prices_changed``); a caller that writes more first passes False and refreshes once itself.
    Callers validate values before (``close`` > 0 is a database constraint: IntegrityError).
    """
    frame = _bar_frame(bars, asset_id=None if asset is None else asset.pk, source=source)
    update = [c for c in update if c in BAR_FIELDS]
    written = 0
    with transaction.atomic():
        if frame.empty:
            pass
        elif connection.vendor == "postgresql" and len(frame) >= COPY_MIN_ROWS:
            written = _copy_upsert(frame, update)
        else:
            written = _orm_upsert(frame, update)
        if refresh:
            touched = {int(a) for a in frame["asset_id"].unique()} | ({asset.pk} if asset is not None else set())
            price_series_refresh(asset_ids=touched)
    return written


def _bar_frame(rows: pd.DataFrame | Iterable[Mapping], *, asset_id: int | None, source: str) -> pd.DataFrame:
    if not isinstance(rows, pd.DataFrame):
        records = []
        for row in rows:
            record = {c: row.get(c) for c in COLUMNS}
            if record["asset_id"] is None:
                record["asset_id"] = row["asset"].pk if row.get("asset") is not None else asset_id
            records.append(record)
        rows = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    frame = rows.reindex(columns=list(COLUMNS))
    if asset_id is not None:
        frame["asset_id"] = frame["asset_id"].fillna(asset_id)
    frame["source"] = frame["source"].fillna(source)
    # ON CONFLICT cannot touch one row twice in a statement: keep the last row of a repeated key.
    return frame.drop_duplicates(["asset_id", "date"], keep="last")


def _copy_upsert(frame: pd.DataFrame, update: list[str]) -> int:
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
    table = PriceBar._meta.db_table
    cols = ", ".join(COLUMNS)
    conflict = f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in update)}" if update else "DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (asset_id bigint, date date, open numeric, high numeric,"
            " low numeric, close numeric, adj_close numeric, volume bigint, source varchar(32)) ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(f"COPY {_STAGE} ({cols}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {_STAGE}"  # noqa: S608 - fixed identifiers
            f" ON CONFLICT (asset_id, date) {conflict}"
        )
        written = cursor.rowcount
        cursor.execute(f"TRUNCATE {_STAGE}")
    return written


def _decimal(value) -> Decimal | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return value
    # repr of a float is the shortest text that round-trips: 187.23, not 187.229999...
    return Decimal(repr(float(value)))


def _orm_upsert(frame: pd.DataFrame, update: list[str]) -> int:
    objs = [
        PriceBar(
            asset_id=int(r.asset_id),
            date=r.date if isinstance(r.date, dt.date) else dt.date.fromisoformat(str(r.date)[:10]),
            open=_decimal(r.open),
            high=_decimal(r.high),
            low=_decimal(r.low),
            close=_decimal(r.close) or Decimal(0),  # none: refused by the positive-close constraint
            adj_close=_decimal(r.adj_close),
            volume=None if _decimal(r.volume) is None else int(r.volume),
            source=r.source,
        )
        for r in frame.itertuples(index=False)
    ]
    options = {"update_conflicts": True, "update_fields": update} if update else {"ignore_conflicts": True}
    PriceBar.objects.bulk_create(objs, batch_size=1000, unique_fields=["asset", "date"], **options)
    return len(objs)


# --- quotes --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    """A stored (or announced) price: the asset's bar of the quote's UTC day."""

    asset: Asset
    price: Decimal
    ts: dt.datetime
    day: dt.date
    created: bool = False  # the day had no bar before
    changed: bool = True  # the bar is new or its close moved


def quote_record(
    *,
    asset: Asset,
    price: Decimal,
    ts: dt.datetime,
    source: str,
    previous_close: Decimal | None = None,
    simulated: bool = False,
    announce_unchanged: bool = False,
) -> Quote:
    """The one write path of a live price: store ``price`` as ``asset``'s bar of the quote's UTC
    day (a new bar, or the day's bar with its close and source replaced), then announce it with
    ``contrib.signals.price_quoted`` when it is new or changed (or always, with
    ``announce_unchanged``). Realtime listens and publishes to the WebSocket subscribers once the
    transaction commits."""
    day = ts.astimezone(dt.UTC).date()
    with transaction.atomic():
        stored = PriceBar.objects.filter(asset=asset, date=day).values_list("close", flat=True).first()
        changed = stored is None or stored != price
        if changed:
            price_bars_upsert(
                [{"asset_id": asset.pk, "date": day, "close": price, "source": source}], update=("close", "source")
            )
        quote = Quote(asset=asset, price=price, ts=ts, day=day, created=stored is None, changed=changed)
        if changed or announce_unchanged:
            quote_announce(quote, previous_close=previous_close, simulated=simulated)
    return quote


def quote_announce(quote: Quote, *, previous_close: Decimal | None = None, simulated: bool = False) -> None:
    """Tell the listeners (realtime) that ``quote`` is the newest price of its asset; the price is
    already stored (or, ``simulated``, never will be)."""
    price_quoted.send(
        sender=PriceBar,
        symbol=quote.asset.symbol,
        price=quote.price,
        ts=quote.ts,
        previous_close=previous_close,
        simulated=simulated,
    )


def fx_rate_upsert(*, base: str, quote: str, date: dt.date, rate: Decimal, source: str = "") -> FxRate:
    obj, _ = FxRate.objects.update_or_create(
        base=base.upper(), quote=quote.upper(), date=date, defaults={"rate": rate, "source": source}
    )
    return obj


def price_series_refresh(*, asset_ids) -> int:
    """Rebuild the packed price arrays of these assets from their bars (one query for all), and
    tell the listeners (``prices_changed``: the document cache) that their prices changed.
    Returns the number of series written."""
    asset_ids = sorted(set(asset_ids))
    if not asset_ids:
        return 0
    rows = (
        PriceBar.objects.filter(asset_id__in=asset_ids)
        .order_by("asset_id", "date")
        .values_list("asset_id", "date", "close", F("adj_close"))
    )
    grouped: dict[int, list] = {a: [] for a in asset_ids}
    for asset_id, day, close, adj in rows.iterator(chunk_size=20000):
        grouped[asset_id].append((day.toordinal() - 719163, float(close), float(adj if adj is not None else close)))
    objs = []
    for asset_id, items in grouped.items():
        arr = np.array(items, dtype="float64").reshape(-1, 3)
        objs.append(
            PriceSeries(
                asset_id=asset_id,
                days=arr[:, 0].astype("int32").tobytes(),
                closes=arr[:, 1].tobytes(),
                adj_closes=arr[:, 2].tobytes(),
                bars=len(items),
                first_date=dt.date.fromordinal(int(arr[0, 0]) + 719163) if items else None,
                last_date=dt.date.fromordinal(int(arr[-1, 0]) + 719163) if items else None,
            )
        )
    PriceSeries.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["asset"],
        update_fields=["days", "closes", "adj_closes", "bars", "first_date", "last_date", "updated_at"],
    )
    prices_changed.send(sender=PriceSeries, asset_ids=asset_ids)
    return len(objs)
