"""The price CSV format of docs/contracts.md §9, shared by every command that reads prices.

A header row; a date column (``Date`` or an unnamed first column; ISO dates or timestamps), then
``Open,High,Low,Close[,Volume]`` (names case-insensitive; ``Adj Close`` is kept when present).
Errors name the file, the data row (the first row after the header is row 1) and the column.
The table is read by ``data_profiler.price_table`` (as the profiler reads it); this module parses
its dates and numbers. No Django import: usable from notebooks and benchmarks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from personal_finance.contrib.textinput import TextInputError, TextSource
from personal_finance.data_profiler.price_table import OPTIONAL_COLUMNS, PRICE_COLUMNS, read_price_table


class PriceCSVError(TextInputError):
    """Bad price file. ``row`` is the 1-based data row (None for header problems, 0 for a byte in
    the header that is not UTF-8)."""


def read_price_csv(source: TextSource, *, allow_missing: bool = False) -> pd.DataFrame:
    """Parse a price file into a float DataFrame with Open/High/Low/Close[/Adj Close/Volume].

    ``source`` is a file name (``str`` or path), the file's bytes, or a binary or text file object.
    The index is a tz-naive DatetimeIndex named ``Date`` (timestamps with an offset are converted
    to UTC), in file order. ``allow_missing`` keeps empty cells as NaN instead of refusing them.
    """
    name, frame = read_price_table(source, error=PriceCSVError, dtype=str)

    dates = frame["Date"].str.strip()
    parsed = pd.to_datetime(dates, format="ISO8601", errors="coerce", utc=True)
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise PriceCSVError(f"unparseable date {dates.iloc[i]!r}", source=name, row=i + 1, column="Date")
    index = pd.DatetimeIndex(parsed).tz_convert(None)
    index.name = "Date"

    out: dict[str, NDArray[np.float64]] = {}
    for col in (*PRICE_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame.columns)):
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
