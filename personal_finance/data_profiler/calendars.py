"""Which exchange calendar a price series trades on, and that calendar's sessions as day numbers.

Calendars come from the ``exchange_calendars`` library. No Django import.
"""

from __future__ import annotations

import datetime as dt
import functools

import exchange_calendars as xc
import numpy as np
import pandas as pd
from numpy.typing import NDArray

DEFAULT_CALENDAR = "XNYS"

# Provider exchange codes (Yahoo Finance's ``exchange`` field and common names) -> calendar.
EXCHANGE_CALENDARS: dict[str, str | None] = {
    # United States
    "NYQ": "XNYS",
    "NYS": "XNYS",
    "NYSE": "XNYS",
    "PCX": "XNYS",
    "ARCA": "XNYS",
    "NYSEARCA": "XNYS",
    "ASE": "XNYS",
    "AMEX": "XNYS",
    "BTS": "XNYS",
    "BATS": "XNYS",
    "CXI": "XNYS",
    "SNP": "XNYS",
    "DJI": "XNYS",
    "NIM": "XNAS",
    "NMS": "XNAS",
    "NGM": "XNAS",
    "NCM": "XNAS",
    "NAS": "XNAS",
    "NASDAQ": "XNAS",
    # Europe
    "GER": "XETR",
    "XETRA": "XETR",
    "ETR": "XETR",
    "FRA": "XFRA",
    "LSE": "XLON",
    "LON": "XLON",
    "IOB": "XLON",
    "FGI": "XLON",
    "PAR": "XPAR",
    "ENX": "XPAR",
    "AMS": "XAMS",
    "BRU": "XBRU",
    "MIL": "XMIL",
    "MCE": "XMAD",
    "MAD": "XMAD",
    "EBS": "XSWX",
    "SWX": "XSWX",
    "VTX": "XSWX",
    "STO": "XSTO",
    "OSL": "XOSL",
    "CPH": "XCSE",
    "HEL": "XHEL",
    "VIE": "XWBO",
    "LIS": "XLIS",
    "ISE": "XDUB",
    "WSE": "XWAR",
    "IST": "XIST",
    # Americas, Asia-Pacific, Africa
    "TOR": "XTSE",
    "TSX": "XTSE",
    "VAN": "XTSX",
    "CVE": "XTSX",
    "SAO": "BVMF",
    "MEX": "XMEX",
    "HKG": "XHKG",
    "JPX": "XTKS",
    "TYO": "XTKS",
    "OSA": "XTKS",
    "ASX": "XASX",
    "NZE": "XNZE",
    "SES": "XSES",
    "KSC": "XKRX",
    "KOE": "XKRX",
    "TAI": "XTAI",
    "TWO": "XTAI",
    "BSE": "XBOM",
    "NSI": "XBOM",
    "JNB": "XJSE",
    # Markets without a closing calendar
    "CCC": None,  # Yahoo: crypto, trades every day
    "CCY": "24/5",  # Yahoo: currencies
}

# Yahoo Finance symbol suffixes -> calendar.
SUFFIX_CALENDARS: dict[str, str] = {
    "DE": "XETR",
    "F": "XFRA",
    "L": "XLON",
    "IL": "XLON",
    "PA": "XPAR",
    "AS": "XAMS",
    "BR": "XBRU",
    "MI": "XMIL",
    "MC": "XMAD",
    "SW": "XSWX",
    "ST": "XSTO",
    "OL": "XOSL",
    "CO": "XCSE",
    "HE": "XHEL",
    "VI": "XWBO",
    "LS": "XLIS",
    "IR": "XDUB",
    "WA": "XWAR",
    "IS": "XIST",
    "TO": "XTSE",
    "V": "XTSX",
    "SA": "BVMF",
    "MX": "XMEX",
    "HK": "XHKG",
    "T": "XTKS",
    "AX": "XASX",
    "NZ": "XNZE",
    "SI": "XSES",
    "KS": "XKRX",
    "KQ": "XKRX",
    "TW": "XTAI",
    "TWO": "XTAI",
    "BO": "XBOM",
    "NS": "XBOM",
    "JO": "XJSE",
}

# Index symbols that do not trade on the default calendar.
INDEX_CALENDARS: dict[str, str] = {
    "^FTSE": "XLON",
    "^GDAXI": "XETR",
    "^FCHI": "XPAR",
    "^STOXX50E": "XETR",
    "^AEX": "XAMS",
    "^IBEX": "XMAD",
    "^SSMI": "XSWX",
    "^N225": "XTKS",
    "^HSI": "XHKG",
    "^AXJO": "XASX",
    "^GSPTSE": "XTSE",
    "^BVSP": "BVMF",
    "^MXX": "XMEX",
    "^KS11": "XKRX",
    "^TWII": "XTAI",
    "^BSESN": "XBOM",
    "^NSEI": "XBOM",
}

NO_CALENDAR = frozenset({"", "NONE", "OFF"})


class UnknownCalendarError(ValueError):
    pass


def calendar_for(*, symbol: str = "", exchange: str = "", asset_class: str = "") -> str | None:
    """The calendar of an asset, or None when no gap check applies (crypto, cash).

    Order: the asset class (crypto -> None, fx -> 24/5, cash -> None), the exchange field (a
    calendar name or MIC such as XNYS, else a provider code such as NMS or GER), the symbol (an
    index such as ^FTSE, a Yahoo suffix such as .DE, ``=X`` for currencies, ``=F`` for futures),
    and finally XNYS.
    """
    asset_class = (asset_class or "").strip().lower()
    if asset_class in ("crypto", "cash"):
        return None
    if asset_class == "fx":
        return "24/5"
    code = (exchange or "").strip().upper()
    if code:
        known = _calendar_names()
        if code in known:
            return known[code]
        if code in EXCHANGE_CALENDARS:
            return EXCHANGE_CALENDARS[code]
    symbol = (symbol or "").strip().upper()
    if symbol in INDEX_CALENDARS:
        return INDEX_CALENDARS[symbol]
    if symbol.endswith("=X"):
        return "24/5"
    if symbol.endswith("=F"):
        return "us_futures"
    if "." in symbol:
        suffix = symbol.rsplit(".", 1)[1]
        if suffix in SUFFIX_CALENDARS:
            return SUFFIX_CALENDARS[suffix]
    return DEFAULT_CALENDAR


@functools.cache
def _calendar_names() -> dict[str, str]:
    """Upper-cased calendar names and aliases -> the name exchange_calendars knows them by."""
    return {name.upper(): name for name in xc.get_calendar_names(include_aliases=True)}


def resolve_calendar(name: str | None) -> str | None:
    """A calendar name as exchange_calendars spells it; None for "no calendar" (None, "", "none")."""
    if name is None or name.strip().upper() in NO_CALENDAR:
        return None
    key = name.strip().upper()
    known = _calendar_names()
    if key in known:
        return known[key]
    if key in EXCHANGE_CALENDARS:
        return EXCHANGE_CALENDARS[key]
    msg = f"unknown calendar {name!r}: use an exchange_calendars name such as XNYS, XLON, XETR or 24/7, or 'none'"
    raise UnknownCalendarError(msg)


_EPOCH = dt.date(1970, 1, 1)


@functools.cache
def _default_sessions(name: str) -> NDArray[np.int64]:
    return _as_days(xc.get_calendar(name).sessions)


@functools.lru_cache(maxsize=64)
def _sessions_from(name: str, year: int) -> NDArray[np.int64]:
    start = dt.date(year, 1, 1)
    bound = xc.get_calendar(name).bound_min()
    if bound is not None:
        start = max(start, bound.date())
    return _as_days(xc.get_calendar(name, start=start.isoformat()).sessions)


def _as_days(sessions: pd.DatetimeIndex) -> NDArray[np.int64]:
    days: NDArray[np.int64] = sessions.to_numpy().astype("datetime64[D]").astype(np.int64)
    return days


def session_days(name: str, first_day: int) -> NDArray[np.int64]:
    """The calendar's sessions as sorted day numbers (days since 1970-01-01).

    The library's default calendar spans about twenty years back; for older series a longer one
    is built (once per calendar and decade) so the sessions cover ``first_day`` when the
    calendar reaches back that far.
    """
    default = _default_sessions(name)
    if first_day >= default[0]:
        return default
    year = (_EPOCH + dt.timedelta(days=int(first_day))).year
    return _sessions_from(name, year // 10 * 10)
