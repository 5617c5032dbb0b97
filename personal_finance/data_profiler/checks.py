"""Data-quality profile of a daily price series (docs/contracts.md §10). Pure: numpy, pandas, exchange_calendars.

A profile is ``{"rows": N, "start": ISO date, "end": ISO date, "findings": [...]}``; each finding is
``{"check": NAME, "severity": "error"|"warning", "dates": [ISO dates], "detail": text}``. Checks,
thresholds and severities are described in docs/data_quality.md.

Entry points:

- ``profile_frame(df)``: a DataFrame indexed by date (or with a ``Date`` column) with
  ``Open, High, Low, Close`` columns (``Close`` required), such as ``read_price_csv`` returns.
- ``profile_csv(path_or_bytes)``: a raw price CSV (docs/contracts.md §9 format), read as text, so dates that do
  not parse and cells that are not numbers become findings instead of exceptions. Only a file that
  cannot be read as a price CSV at all (unreadable, empty, no date column, missing columns) raises
  ``ProfileInputError``.
- ``rows_with_errors(report)`` and ``raise_for_errors(report)``: for ingestion, which refuses the
  rows an error finding names.

All checks are vectorised over the whole series; the one loop is over candidate split days.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from personal_finance.contrib.textinput import TextInputError, TextSource

from .calendars import DEFAULT_CALENDAR, UnknownCalendarError, calendar_for, resolve_calendar, session_days
from .price_table import PRICE_COLUMNS, read_price_table

__all__ = [
    "CHECKS",
    "DEFAULT_CALENDAR",
    "ERROR",
    "WARNING",
    "ProfileError",
    "ProfileInputError",
    "UnknownCalendarError",
    "calendar_for",
    "count_by_severity",
    "profile_csv",
    "profile_frame",
    "raise_for_errors",
    "rows_with_errors",
]

ERROR = "error"
WARNING = "warning"
CHECKS = (
    "unparseable_dates",
    "duplicate_dates",
    "unsorted_dates",
    "missing_values",
    "non_positive_prices",
    "ohlc_inconsistent",
    "calendar_gaps",
    "stale_prices",
    "return_outliers",
    "possible_split",
)

MAX_DATES = 50  # dates listed per warning finding (error findings list every date); the detail gives the total
STALE_DAYS = 5  # identical closes in a row that make a stale run
OUTLIER_SIGMAS = 8.0  # robust (MAD) sigmas of the log returns
OUTLIER_FLOOR = 0.03  # |log return| below this is never an outlier by the sigma rule (quiet series)
OUTLIER_ABSOLUTE = 0.5  # |log return| above this is always an outlier (+65% / -39% in a day)
OUTLIER_MIN_RETURNS = 20  # fewer returns: only the absolute rule applies
SPLIT_RATIOS = (2.0, 3.0, 4.0, 5.0, 10.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 10)
SPLIT_TOLERANCE = 0.03  # one-day close ratio within 3% of a split ratio
SPLIT_WINDOW = 5  # rows before and after compared to tell a split from a one-day spike
OHLC_TOLERANCE = 1e-6  # relative slack for prices rounded differently by the provider

_MAD_SCALE = 1.4826  # MAD -> sigma of a normal distribution
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


class Finding(TypedDict):
    """One finding of a profile (the profile itself is a JSON document: ``dict[str, Any]``)."""

    check: str
    severity: str
    dates: list[str]
    detail: str


class ProfileInputError(TextInputError):
    """The input cannot be profiled at all. ``row`` is the 1-based data row, when one applies."""


class ProfileError(ValueError):
    """Raised by ``raise_for_errors``: the profile has error findings. ``dates`` are the rows to refuse."""

    def __init__(self, report: dict[str, Any], *, source: str = "") -> None:
        self.report = report
        self.source = source
        self.dates = rows_with_errors(report)
        parts = [
            f"{f['check']} ({_plural(len(f['dates']), 'row')}): {', '.join(f['dates'][:5])}{' ...' if len(f['dates']) > 5 else ''}"
            for f in report["findings"]
            if f["severity"] == ERROR
        ]
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}price data has errors: {'; '.join(parts)}")


# --------------------------------------------------------------------------------------------------
# Entry points


def profile_frame(
    df: pd.DataFrame,
    *,
    calendar: str | None = DEFAULT_CALENDAR,
    stale_days: int = STALE_DAYS,
    outlier_sigmas: float = OUTLIER_SIGMAS,
    outlier_absolute: float = OUTLIER_ABSOLUTE,
    split_tolerance: float = SPLIT_TOLERANCE,
    known_splits: Iterable[dt.date | str] = (),
) -> dict[str, Any]:
    """Profile a price DataFrame. ``calendar`` is an exchange_calendars name, or None for no gap check.

    Rows whose index is NaT are reported as ``unparseable_dates``. ``known_splits`` are ex-dates of
    recorded splits: a jump on one of them is expected in as-traded closes and is not reported.
    """
    if not isinstance(df, pd.DataFrame):
        raise ProfileInputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    columns = {str(c).strip().lower().replace("_", " "): c for c in df.columns}
    if isinstance(df.index, pd.DatetimeIndex):
        stamps = df.index
    elif "date" in columns:
        stamps = pd.DatetimeIndex(pd.to_datetime(df[columns["date"]], errors="coerce"))
    elif pd.api.types.is_object_dtype(df.index) or pd.api.types.is_string_dtype(df.index):
        stamps = pd.DatetimeIndex(pd.to_datetime(df.index, format="ISO8601", errors="coerce"))
    else:
        raise ProfileInputError("no dates: index the frame by date or give it a Date column", column="Date")
    if stamps.tz is not None:
        stamps = stamps.tz_localize(None)  # the local trading date as the provider wrote it
    if "close" not in columns:
        raise ProfileInputError("missing column: Close", column="Close")
    valid = ~np.asarray(stamps.isna())
    days = np.zeros(len(df), dtype=np.int64)
    days[valid] = stamps[valid].to_numpy().astype("datetime64[D]").astype(np.int64)
    values = {
        name: pd.to_numeric(df[columns[name.lower()]], errors="coerce").to_numpy(dtype="float64")
        for name in PRICE_COLUMNS
        if name.lower() in columns
    }
    source_dates = df.index if isinstance(df.index, pd.DatetimeIndex) or "date" not in columns else df[columns["date"]]
    unparseable = [str(v) for v in np.asarray(source_dates)[~valid]]
    return _profile(
        days,
        valid,
        values,
        unparseable_text=unparseable,
        unparseable_rows=(np.flatnonzero(~valid) + 1).tolist(),
        calendar=calendar,
        stale_days=stale_days,
        outlier_sigmas=outlier_sigmas,
        outlier_absolute=outlier_absolute,
        split_tolerance=split_tolerance,
        known_splits=known_splits,
    )


def profile_csv(
    source: TextSource,
    *,
    calendar: str | None = DEFAULT_CALENDAR,
    **options: Any,
) -> dict[str, Any]:
    """Profile a price CSV read as text (docs/contracts.md §9 format; ``Close`` and ``Open/High/Low`` required).

    ``source`` is a path, the file's bytes, or a binary or text file object. Options as for
    ``profile_frame``. Raises ``ProfileInputError`` naming the file when it is not a price CSV.
    """
    # Only empty cells are missing (not "NA", "null", ...); numbers are parsed by the C reader
    # and any column with text in it stays text, cleaned up per column afterwards.
    name, frame = read_price_table(source, error=ProfileInputError, na_values=[""])
    text_dates = _as_text(frame["Date"])
    days, valid = _parse_days(text_dates)
    values = {column: _as_float(frame[column]) for column in PRICE_COLUMNS}
    bad_rows = np.flatnonzero(~valid)
    try:
        return _profile(
            days,
            valid,
            values,
            unparseable_text=[str(t).strip() for t in text_dates.to_numpy()[bad_rows]],
            unparseable_rows=(bad_rows + 1).tolist(),
            calendar=calendar,
            **options,
        )
    except ProfileInputError as exc:
        raise ProfileInputError(exc.message, source=name, row=exc.row, column=exc.column) from None


def _as_text(column: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column):
        return column.fillna("").astype(str)
    return column.astype(str).where(column.notna(), "")


def _parse_days(text: pd.Series) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Day numbers and a parsed mask for date cells. Plain YYYY-MM-DD takes the fast exact-format
    path; anything else goes through the ISO 8601 parser (timestamps, offsets)."""
    plain: NDArray[np.datetime64] = (
        pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").to_numpy().astype("datetime64[D]")
    )
    valid = ~np.isnat(plain)
    days = np.zeros(len(text), dtype=np.int64)
    days[valid] = plain[valid].astype(np.int64)
    rest = np.flatnonzero(~valid)
    if len(rest):
        other = text.iloc[rest].str.strip()
        parsed = pd.to_datetime(other, format="ISO8601", errors="coerce", utc=True)
        ok = parsed.notna().to_numpy()
        # A timestamp with an offset names the trading day as written ("2024-01-02T00:00+01:00"
        # is 2 January), so its leading YYYY-MM-DD wins over the UTC date when there is one.
        head = other.where(other.str.match(_ISO_DAY), "").str.slice(0, 10)
        local = pd.to_datetime(head, format="%Y-%m-%d", errors="coerce").to_numpy().astype("datetime64[D]")
        utc_days = parsed.dt.tz_convert(None).to_numpy().astype("datetime64[D]")
        chosen = np.where(np.isnat(local), utc_days, local)
        days[rest[ok]] = chosen[ok].astype(np.int64)
        valid[rest[ok]] = True
    return days, valid


def _as_float(column: pd.Series) -> NDArray[np.float64]:
    """Float values of a price column; empty cells and cells that are not numbers become NaN.
    Columns read_csv already parsed as numbers skip the (slow) string clean-up."""
    values: NDArray[np.float64]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype="float64")
        return values
    cells = column.fillna("").astype(str).str.strip().str.replace(",", "", regex=False)
    values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype="float64")
    return values


def rows_with_errors(report: dict[str, Any]) -> set[dt.date]:
    """Dates of the rows an error finding names: the rows ingestion refuses.

    ``unparseable_dates`` lists cells that are not dates, so they cannot appear here; a reader
    that parses dates (``read_price_csv``) refuses those rows itself.
    """
    out: set[dt.date] = set()
    for finding in report.get("findings", ()):
        if finding.get("severity") != ERROR or finding.get("check") == "unparseable_dates":
            continue
        for text in finding.get("dates", ()):
            try:
                out.add(dt.date.fromisoformat(text))
            except (TypeError, ValueError):
                continue
    return out


def raise_for_errors(report: dict[str, Any], *, source: str = "") -> None:
    """Raise ``ProfileError`` (naming the checks and dates) when the profile has error findings."""
    if any(f["severity"] == ERROR for f in report["findings"]):
        raise ProfileError(report, source=source)


def count_by_severity(report: dict[str, Any]) -> dict[str, int]:
    """Number of findings per severity: ``{"error": e, "warning": w}``."""
    counts = {ERROR: 0, WARNING: 0}
    for finding in report["findings"]:
        counts[finding["severity"]] += 1
    return counts


# --------------------------------------------------------------------------------------------------
# The checks


def _iso(days: NDArray[np.int64]) -> list[str]:
    dates: list[str] = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype(str).tolist()
    return dates


def _finding(check: str, severity: str, days: NDArray[np.int64], detail: str) -> Finding:
    """Error findings list every date (ingestion refuses exactly those rows); warnings the first 50."""
    days = np.unique(days)  # sorted, each date once
    if severity == WARNING:
        days = days[:MAX_DATES]
    return {"check": check, "severity": severity, "dates": _iso(days), "detail": detail}


def _listed(total: int) -> str:
    """Note for warning details: the dates list is capped."""
    return f" (first {MAX_DATES} listed)" if total > MAX_DATES else ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _profile(
    days: NDArray[np.int64],
    valid: NDArray[np.bool_],
    values: dict[str, NDArray[np.float64]],
    *,
    unparseable_text: list[str],
    unparseable_rows: list[int],
    calendar: str | None = DEFAULT_CALENDAR,
    stale_days: int = STALE_DAYS,
    outlier_sigmas: float = OUTLIER_SIGMAS,
    outlier_absolute: float = OUTLIER_ABSOLUTE,
    split_tolerance: float = SPLIT_TOLERANCE,
    known_splits: Iterable[dt.date | str] = (),
) -> dict[str, Any]:
    calendar_name = resolve_calendar(calendar)
    if stale_days < 2:
        raise ProfileInputError(f"stale_days must be at least 2, got {stale_days}")
    n = len(days)
    findings: list[Finding] = []

    # unparseable_dates: the cells as written (they are not dates), in file order.
    if unparseable_rows:
        total = len(unparseable_rows)
        rows = ", ".join(str(r) for r in unparseable_rows[:10]) + (" ..." if total > 10 else "")
        findings.append(
            {
                "check": "unparseable_dates",
                "severity": ERROR,
                "dates": [str(t) for t in unparseable_text],
                "detail": f"{_plural(total, 'row')} with a date that does not parse ({'row' if total == 1 else 'rows'} {rows}); "
                "dates lists the cells as written",
            }
        )

    d = days[valid]
    close_all = values["Close"]
    if len(d) == 0:
        return {"rows": n, "start": None, "end": None, "findings": findings}

    # duplicate_dates
    order = np.argsort(d, kind="stable")
    sorted_days = d[order]
    repeat = sorted_days[1:] == sorted_days[:-1]
    if repeat.any():
        dup_days = np.unique(sorted_days[1:][repeat])
        extra = int(repeat.sum())
        findings.append(
            _finding(
                "duplicate_dates",
                ERROR,
                dup_days,
                f"{_plural(len(dup_days), 'date')} appear more than once ({_plural(extra, 'extra row')}); "
                "every row of a repeated date is refused",
            )
        )

    # unsorted_dates: rows dated earlier than the row above (duplicates are not "unsorted").
    earlier = np.flatnonzero(d[1:] < d[:-1]) + 1
    if len(earlier):
        findings.append(
            _finding(
                "unsorted_dates",
                WARNING,
                d[earlier],
                f"{_plural(len(earlier), 'row')} dated earlier than the row above{_listed(len(earlier))}; "
                "the series checks sort by date first",
            )
        )

    # missing_values: Close is an error (the bar cannot be stored); Open/High/Low a warning.
    finite = {c: np.isfinite(v[valid]) for c, v in values.items()}
    no_close = ~finite["Close"]
    if no_close.any():
        k = int(no_close.sum())
        findings.append(
            _finding("missing_values", ERROR, d[no_close], f"Close is empty or not a number on {_plural(k, 'row')}")
        )
    others = [c for c in ("Open", "High", "Low") if c in values]
    if others:
        gaps = {c: ~finite[c] & finite["Close"] for c in others}
        any_gap = np.logical_or.reduce([gaps[c] for c in others])
        if any_gap.any():
            parts = ", ".join(f"{c} on {_plural(int(g.sum()), 'row')}" for c, g in gaps.items() if g.any())
            findings.append(
                _finding("missing_values", WARNING, d[any_gap], f"empty or not a number (Close present): {parts}")
            )

    # non_positive_prices
    vals = {c: v[valid] for c, v in values.items()}
    non_positive = {c: finite[c] & (v <= 0) for c, v in vals.items()}
    bad = np.logical_or.reduce(list(non_positive.values()))
    if bad.any():
        parts = ", ".join(f"{c} on {_plural(int(m.sum()), 'row')}" for c, m in non_positive.items() if m.any())
        findings.append(_finding("non_positive_prices", ERROR, d[bad], f"zero or negative prices: {parts}"))

    # ohlc_inconsistent: low above open/close/high, or high below open/close (NaN never counts).
    if all(c in vals for c in PRICE_COLUMNS):
        o, h, lo, c_ = vals["Open"], vals["High"], vals["Low"], vals["Close"]
        slack = OHLC_TOLERANCE * np.abs(np.fmax(h, lo))  # relative to the price level; NaN-safe
        with np.errstate(invalid="ignore"):
            low_bad = (lo - o > slack) | (lo - c_ > slack) | (lo - h > slack)
            high_bad = (o - h > slack) | (c_ - h > slack)
        inconsistent = low_bad | high_bad
        if inconsistent.any():
            findings.append(
                _finding(
                    "ohlc_inconsistent",
                    ERROR,
                    d[inconsistent],
                    f"{_plural(int(inconsistent.sum()), 'row')} where Low is above Open, Close or High "
                    f"({int(low_bad.sum())}) or High is below Open or Close ({int(high_bad.sum())})",
                )
            )

    # The series checks below run on the rows sorted by date, one row per date (the first).
    keep = np.ones(len(sorted_days), dtype=bool)
    keep[1:] = ~repeat
    series_days = sorted_days[keep]

    # calendar_gaps: sessions between the first and last date with no row.
    if calendar_name is not None:
        findings.extend(_calendar_gaps(series_days, calendar_name))

    close_sorted = close_all[valid][order][keep]
    ok = np.isfinite(close_sorted) & (close_sorted > 0)
    s_days, s_close = series_days[ok], close_sorted[ok]
    findings.extend(_stale(s_days, s_close, stale_days))
    findings.extend(
        _returns(s_days, s_close, outlier_sigmas, outlier_absolute, split_tolerance, _day_numbers(known_splits))
    )

    findings.sort(key=lambda f: CHECKS.index(f["check"]))
    return {"rows": n, "start": _iso(sorted_days[:1])[0], "end": _iso(sorted_days[-1:])[0], "findings": findings}


def _day_numbers(dates: Iterable[dt.date | str]) -> NDArray[np.int64]:
    out: list[np.int64] = []
    for value in dates:
        if isinstance(value, str):
            day = dt.date.fromisoformat(value[:10])
        elif isinstance(value, dt.datetime):
            day = value.date()
        else:
            day = value
        out.append(np.datetime64(day, "D").astype(np.int64))
    return np.asarray(out, dtype=np.int64)


def _calendar_gaps(present: NDArray[np.int64], name: str) -> list[Finding]:
    sessions = session_days(name, int(present[0]))
    lo = np.searchsorted(sessions, present[0], side="left")
    hi = np.searchsorted(sessions, present[-1], side="right")
    window = sessions[lo:hi]
    note = ""
    if present[0] < sessions[0] or present[-1] > sessions[-1]:
        note = f"; the {name} calendar covers {_iso(sessions[:1])[0]} to {_iso(sessions[-1:])[0]} only"
    if len(window) == 0:
        return []
    pos = np.searchsorted(present, window).clip(max=len(present) - 1)
    missing = window[present[pos] != window]
    if len(missing) == 0:
        return []
    return [
        _finding(
            "calendar_gaps",
            WARNING,
            missing,
            f"{_plural(len(missing), 'session')} of the {name} calendar between the first and last date "
            f"have no row{_listed(len(missing))}{note}",
        )
    ]


def _stale(days: NDArray[np.int64], close: NDArray[np.float64], stale_days: int) -> list[Finding]:
    if len(close) < stale_days:
        return []
    starts = np.flatnonzero(np.r_[True, close[1:] != close[:-1]])
    lengths = np.diff(np.r_[starts, len(close)])
    long_runs = lengths >= stale_days
    if not long_runs.any():
        return []
    run_id = np.repeat(np.arange(len(starts)), lengths)
    in_run = long_runs[run_id]
    longest = int(np.argmax(np.where(long_runs, lengths, 0)))
    first, size = int(starts[longest]), int(lengths[longest])
    stale_dates = days[in_run]
    return [
        _finding(
            "stale_prices",
            WARNING,
            stale_dates,
            f"{_plural(int(long_runs.sum()), 'run')} of {stale_days} or more identical closes in a row "
            f"({_plural(len(stale_dates), 'row')}{_listed(len(stale_dates))}); longest: {size} rows at "
            f"{close[first]:g} from {_iso(days[first : first + 1])[0]} to {_iso(days[first + size - 1 : first + size])[0]}",
        )
    ]


def _ratio_label(ratio: float) -> str:
    if ratio < 1:
        return f"{round(1 / ratio)}:1 split"
    return f"1:{round(ratio)} reverse split"


def _returns(
    days: NDArray[np.int64],
    close: NDArray[np.float64],
    k: float,
    absolute: float,
    tolerance: float,
    known: NDArray[np.int64],
) -> list[Finding]:
    if len(close) < 2:
        return []
    out: list[Finding] = []
    r = np.diff(np.log(close))  # r[j] is the return into row j + 1
    r_days = days[1:]
    expected = np.isin(r_days, known) if len(known) else np.zeros(len(r), dtype=bool)

    # possible_split: a one-day ratio near a split ratio whose new level holds (no reversion).
    logs = np.log(np.asarray(SPLIT_RATIOS))
    near = np.abs(r[:, None] - logs[None, :]) <= np.log1p(tolerance)
    candidates = np.flatnonzero(near.any(axis=1) & ~expected)
    split_mask = np.zeros(len(r), dtype=bool)
    notes: list[str] = []
    for j in candidates:
        target = logs[int(np.argmax(near[j]))]
        i = j + 1  # row of the new level
        before = np.median(close[max(0, i - SPLIT_WINDOW) : i])
        after = np.median(close[i : i + SPLIT_WINDOW])
        shift = np.log(after / before)
        if abs(shift - target) < abs(target) / 2:  # the level stays nearer the split ratio than 1
            split_mask[j] = True
            if len(notes) < 10:
                ratio = float(np.exp(r[j]))
                notes.append(f"{_iso(r_days[j : j + 1])[0]} x{ratio:.4g} ({_ratio_label(float(np.exp(target)))}?)")
    if split_mask.any():
        total = int(split_mask.sum())
        out.append(
            _finding(
                "possible_split",
                WARNING,
                r_days[split_mask],
                f"{_plural(total, 'one-day close jump')} near a split ratio that did not revert: "
                f"{'; '.join(notes)}{' ...' if total > len(notes) else ''}; "
                "the series may be unadjusted for splits",
            )
        )

    # return_outliers: |log return| beyond k robust sigmas (and the floor), or beyond the absolute bound.
    excluded = split_mask | expected
    centre = float(np.median(r))
    deviation = np.abs(r - centre)
    sigma = _MAD_SCALE * float(np.median(deviation))
    outlier = np.abs(r) > absolute
    rule = f"|log return| > {absolute:g}"
    if len(r) >= OUTLIER_MIN_RETURNS:
        outlier |= (deviation > k * sigma) & (np.abs(r) > OUTLIER_FLOOR)
        rule = f"beyond {k:g} robust sigmas (sigma {sigma:.4g} from the MAD, min |log return| {OUTLIER_FLOOR:g}) or {rule}"
    outlier &= ~excluded
    if outlier.any():
        worst = int(np.argmax(np.where(outlier, np.abs(r), -1)))
        out.append(
            _finding(
                "return_outliers",
                WARNING,
                r_days[outlier],
                f"{_plural(int(outlier.sum()), 'daily return')} {rule}; largest: {np.expm1(r[worst]):+.2%} "
                f"on {_iso(r_days[worst : worst + 1])[0]}",
            )
        )
    return out
