"""The table of a price CSV (docs/contracts.md §9), read the same way by the profiler and by
``data_sources.price_csv`` (which adds the parsing of dates and numbers). Pure: pandas only.

A header row; a date column (``Date``, ``Datetime``, ``Timestamp`` or an unnamed first column),
then ``Open,High,Low,Close[,Adj Close][,Volume]`` (names case-insensitive, ``_`` for a space).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from personal_finance.contrib.textinput import TextInputError, TextSource, read_text, source_name

PRICE_COLUMNS = ("Open", "High", "Low", "Close")
OPTIONAL_COLUMNS = ("Adj Close", "Volume")
DATE_NAMES = ("date", "datetime", "timestamp")
CANONICAL = {name.lower(): name for name in (*PRICE_COLUMNS, *OPTIONAL_COLUMNS)}
CANONICAL["adjclose"] = "Adj Close"
CANONICAL["adjusted close"] = "Adj Close"


def read_price_table(
    source: TextSource, *, error: type[TextInputError], **read_csv: object
) -> tuple[str, pd.DataFrame]:
    """The file's name and its rows, with the date column named ``Date`` and the price columns
    their canonical names. ``source`` is a file name (``str`` or path), bytes or a file object;
    ``read_csv`` options go to ``pandas.read_csv`` (only empty cells are ever missing).

    Raises ``error`` naming the file (and the column) when the input is unreadable, not UTF-8,
    empty, not CSV, has no date column, lacks one of Open/High/Low/Close or has no data rows.
    """
    name = source_name(source)
    text = read_text(Path(source) if isinstance(source, str) else source, name=name, error=error)
    try:
        frame = pd.read_csv(io.StringIO(text), keep_default_na=False, skipinitialspace=True, **read_csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise error(f"not a CSV file: {exc}", source=name) from None

    columns = list(frame.columns)
    date_col = next((c for c in columns if str(c).strip().lower() in DATE_NAMES), None)
    if date_col is None:
        first = str(columns[0]).strip() if columns else ""
        if first == "" or first.lower().startswith("unnamed"):
            date_col = columns[0]
        else:
            msg = "no date column: name it 'Date' or leave the first header cell empty"
            raise error(msg, source=name, column=first)
    rename = {date_col: "Date"}
    for c in columns:
        key = str(c).strip().lower().replace("_", " ")
        if c != date_col and key in CANONICAL:
            rename[c] = CANONICAL[key]
    frame = frame.rename(columns=rename)
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise error(f"missing column(s): {', '.join(missing)}", source=name, column=missing[0])
    if frame.empty:
        raise error("no data rows after the header", source=name)
    return name, frame
