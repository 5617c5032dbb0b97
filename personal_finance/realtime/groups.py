"""Channel-layer group names of the streams (STYLE "Async"): one group per symbol and one per
portfolio. Group names may only hold ``[A-Za-z0-9._-]`` and must stay under 100 characters, so a
symbol is validated first and its other characters are escaped injectively."""

from __future__ import annotations

import re

from personal_finance.assets.models import SYMBOL_RE

# Characters a symbol may hold that a group name may not. "_" never occurs in a valid symbol, so
# "_" plus one letter is an unambiguous escape and the mapping is one-to-one.
_ESCAPES = {"^": "_C", "=": "_E", "/": "_S"}
_ESCAPE_RE = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")

QUOTE_PREFIX = "quotes."
PORTFOLIO_PREFIX = "portfolio."


class InvalidSymbol(ValueError):
    pass


def normalize_symbol(value: object) -> str:
    """The upper-cased symbol, or InvalidSymbol with a message a client can act on."""
    if not isinstance(value, str):
        raise InvalidSymbol(f"symbols are strings, got {type(value).__name__}")
    symbol = value.strip().upper()
    if not SYMBOL_RE.match(symbol):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidSymbol(
            f"invalid symbol {shown!r}: 1 to 32 characters, letters, digits and . - = ^ (e.g. AAPL, BRK-B, ^GSPC)"
        )
    return symbol


def quote_group(symbol: str) -> str:
    """``quotes.<SYMBOL>`` with ``^ = /`` escaped: ``^GSPC`` -> ``quotes._CGSPC``,
    ``EURUSD=X`` -> ``quotes.EURUSD_EX``. At most 7 + 2 * 32 = 71 characters."""
    symbol = normalize_symbol(symbol)
    return QUOTE_PREFIX + _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], symbol)


def portfolio_group(portfolio_id: int) -> str:
    return f"{PORTFOLIO_PREFIX}{int(portfolio_id)}"
