"""The price CSV format of DESIGN section 9, shared by every command that reads prices.

A header row; a date column (``Date`` or an unnamed first column; ISO dates or timestamps), then
``Open,High,Low,Close[,Volume]`` (names case-insensitive; ``Adj Close`` is kept when present).
Errors name the file, the data row (the first row after the header is row 1) and the column.
No Django import: usable from notebooks and benchmarks.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

REQUIRED = ("Open", "High", "Low", "Close")
OPTIONAL = ("Adj Close", "Volume")
_CANONICAL = {name.lower().replace("_", " "): name for name in (*REQUIRED, *OPTIONAL)}
_CANONICAL["adjclose"] = "Adj Close"
_CANONICAL["adjusted close"] = "Adj Close"


class PriceCSVError(ValueError):
    """Bad price file. ``row`` is the 1-based data row (None for header problems)."""

    def __init__(self, message: str, *, source: str = "", row: int | None = None, column: str | None = None):
        self.source = source
        self.row = row
        self.column = column
        where = [
            p for p in (source, f"row {row}" if row is not None else "", f"column {column!r}" if column else "") if p
        ]
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")
        self.message = message


def _source_name(source) -> str:
    if isinstance(source, str | Path):
        return str(source)
    return getattr(source, "name", "") or "<upload>"


def read_price_csv(source: str | Path | IO, *, allow_missing: bool = False) -> pd.DataFrame:
    """Parse a price file into a float DataFrame with Open/High/Low/Close[/Adj Close/Volume].

    The index is a tz-naive DatetimeIndex named ``Date`` (timestamps with an offset are converted
    to UTC), in file order. ``allow_missing`` keeps empty cells as NaN instead of refusing them.
    """
    name = _source_name(source)
    try:
        if isinstance(source, str | Path):
            raw = Path(source).read_bytes()
        else:
            raw = source.read()
            if isinstance(raw, str):
                raw = raw.encode("utf-8")
    except OSError as exc:
        raise PriceCSVError(f"cannot read file: {exc.strerror or exc}", source=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PriceCSVError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", source=name) from None
    if not text.strip():
        raise PriceCSVError("the file is empty", source=name)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PriceCSVError(f"not a CSV file: {exc}", source=name) from None

    columns = list(frame.columns)
    date_col = next((c for c in columns if str(c).strip().lower() in ("date", "datetime", "timestamp")), None)
    if date_col is None:
        first = str(columns[0]).strip() if columns else ""
        if first == "" or first.lower().startswith("unnamed"):
            date_col = columns[0]
        else:
            raise PriceCSVError("no date column: name it 'Date' or leave the first header cell empty", source=name)
    rename = {date_col: "Date"}
    for c in columns:
        key = str(c).strip().lower().replace("_", " ")
        if c != date_col and key in _CANONICAL:
            rename[c] = _CANONICAL[key]
    frame = frame.rename(columns=rename)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise PriceCSVError(f"missing column(s): {', '.join(missing)}", source=name)
    if frame.empty:
        raise PriceCSVError("no data rows after the header", source=name)

    dates = frame["Date"].str.strip()
    parsed = pd.to_datetime(dates, format="ISO8601", errors="coerce", utc=True)
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise PriceCSVError(f"unparseable date {dates.iloc[i]!r}", source=name, row=i + 1, column="Date")
    index = pd.DatetimeIndex(parsed).tz_convert(None)
    index.name = "Date"

    out = {}
    for col in (*REQUIRED, *(c for c in OPTIONAL if c in frame.columns)):
        cells = frame[col].str.strip()
        values = pd.to_numeric(cells.str.replace(",", "", regex=False), errors="coerce")
        invalid = values.isna() & (cells != "")
        if not allow_missing:
            invalid |= cells == ""
        if invalid.any():
            i = int(np.argmax(invalid.to_numpy()))
            shown = cells.iloc[i]
            reason = "empty value" if shown == "" else f"not a number: {shown!r}"
            raise PriceCSVError(reason, source=name, row=i + 1, column=col)
        out[col] = values.to_numpy(dtype="float64")
    return pd.DataFrame(out, index=index)
