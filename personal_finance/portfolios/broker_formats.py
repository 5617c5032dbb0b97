"""Broker export presets for the CSV import (``--format schwab`` / ``--format trading212``).

Shapes follow the brokers' own exports as parsed by public open-source importers; the exact
columns, signs and action names are documented in docs/imports.md. Rows of actions we do not model
(options, short sales, mergers, card payments, currency conversions) are refused with a message
naming the row, so nothing is silently dropped.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation

from .importers import CsvFormat, parse_number, register_format
from .services import TransactionInput


def _row_id(prefix: str, raw: dict) -> str:
    """A stable id for brokers whose export has none, so a re-import skips what is stored."""
    digest = hashlib.sha1("|".join(f"{k}={v}" for k, v in sorted(raw.items())).encode(), usedforsecurity=False)
    return f"{prefix}:{digest.hexdigest()[:24]}"


def _dec(text: str) -> Decimal | None:
    try:
        return Decimal(parse_number(text)) if parse_number(text) else None
    except InvalidOperation:
        return None


# --- Charles Schwab: brokerage "Transactions" export ---------------------------------------------
SCHWAB_TYPES = {
    "buy": "buy",
    "reinvest shares": "buy",
    "sell": "sell",
    "cash dividend": "dividend",
    "qualified dividend": "dividend",
    "non-qualified div": "dividend",
    "special non qual div": "dividend",
    "pr yr cash div": "dividend",
    "reinvest dividend": "dividend",
    "qual div reinvest": "dividend",
    "pr yr div reinvest": "dividend",
    "long term cap gain": "dividend",
    "short term cap gain": "dividend",
    "long term cap gain reinvest": "dividend",
    "short term cap gain reinvest": "dividend",
    "credit interest": "interest",
    "bank interest": "interest",
    "advisor fee": "fee",
    "adr mgmt fee": "fee",
    "service fee": "fee",
    "foreign tax paid": "fee",
    "nra tax adj": "fee",
    "nra withholding": "fee",
    "irs withhold adj": "fee",
    "stock split": "transfer_in",
    # cash in or out: decided by the sign of Amount
    "moneylink transfer": "cash",
    "moneylink deposit": "cash",
    "wire sent": "cash",
    "wire funds": "cash",
    "wire funds received": "cash",
    "funds received": "cash",
    "journal": "cash",
    "internal transfer": "cash",
    "misc cash entry": "cash",
    "promotional award": "cash",
}


def _schwab_adjust(raw: dict, data: TransactionInput) -> TransactionInput:
    action = raw.get("Action", "").strip().lower()
    data.external_id = _row_id("schwab", raw)
    data.currency = "USD"
    if data.type == "cash":
        amount = _dec(raw.get("Amount", ""))
        data.type = "withdrawal" if amount is not None and amount < 0 else "deposit"
        data.symbol = ""
        data.quantity = ""
    elif action == "stock split":
        # Schwab reports the additional shares; they enter at zero cost (total basis unchanged).
        data.price = "0"
        data.amount = ""
        data.note = f"{data.note or ''} (stock split: additional shares)"
    elif data.type in ("dividend", "interest", "fee"):
        data.quantity = ""
        data.price = ""
        if data.type == "interest":
            data.symbol = ""
    return data


SCHWAB = register_format(
    CsvFormat(
        name="schwab",
        description="Charles Schwab brokerage 'Transactions' CSV (Date, Action, Symbol, Description, Quantity, Price, Fees & Comm, Amount).",
        columns={
            "date": ("Date",),
            "type": ("Action",),
            "symbol": ("Symbol",),
            "quantity": ("Quantity",),
            "price": ("Price",),
            "fees": ("Fees & Comm",),
            "amount": ("Amount",),
            "note": ("Description",),
        },
        types=SCHWAB_TYPES,
        date_formats=("%m/%d/%Y",),
        unsigned=True,
        skip=lambda raw: "total" in raw.get("Date", "").lower(),
        adjust=_schwab_adjust,
    )
)


# --- Trading 212: History -> Export CSV ------------------------------------------------------------
T212_FEE_COLUMNS = (
    "Transaction fee",
    "Finra fee",
    "Stamp duty reserve tax",
    "French transaction tax",
    "Currency conversion fee",
)


def _t212_total_currency(raw: dict) -> str:
    currency = raw.get("Currency (Total)", "").strip().upper()
    if currency:
        return currency
    for key in raw:  # older exports put the account currency in the header: "Total (GBP)"
        if key.startswith("Total (") and key.endswith(")"):
            return key[7:-1].upper()
    return ""


def _t212_adjust(raw: dict, data: TransactionInput) -> TransactionInput:
    data.currency = _t212_total_currency(raw)
    if raw.get("ID"):
        data.external_id = raw["ID"].strip()
    else:
        data.external_id = _row_id("t212", raw)
    if data.type in ("buy", "sell"):
        # Price / share is in the instrument's currency; Total in the account's. Convert the
        # price with the export's own rate (instrument units per account unit).
        rate = _dec(raw.get("Exchange rate", ""))
        price = _dec(str(data.price))
        if price is not None and rate:
            data.price = str(price / rate)
        fees = Decimal(0)
        for column in T212_FEE_COLUMNS:
            for key in (column, *(k for k in raw if k.startswith(column + " ("))):
                value = _dec(raw.get(key, ""))
                currency = raw.get(f"Currency ({column})", "").strip().upper() or data.currency
                if value and currency == data.currency:
                    fees += abs(value)
        data.fees = str(fees)
    else:
        data.quantity = ""
        data.price = ""
        if data.type in ("deposit", "withdrawal", "interest"):
            data.symbol = ""
    return data


TRADING212 = register_format(
    CsvFormat(
        name="trading212",
        description="Trading 212 history export (Action, Time, ISIN, Ticker, Name, No. of shares, Price / share, ..., Total, Currency (Total), ..., ID).",
        columns={
            "date": ("Time", "Time (UTC)"),
            "type": ("Action",),
            "symbol": ("Ticker",),
            "quantity": ("No. of shares",),
            "price": ("Price / share",),
            "amount": ("Total", "Total (GBP)", "Total (EUR)", "Total (USD)"),
            "note": ("Name",),
            "external_id": ("ID",),
        },
        types={
            "deposit": "deposit",
            "withdrawal": "withdrawal",
            "interest on cash": "interest",
            "lending interest": "interest",
            "spending cashback": "interest",
        },
        type_patterns=(
            (r"^(market|limit|stop|stop limit) buy$", "buy"),
            (r"^(market|limit|stop|stop limit) sell$", "sell"),
            (r"^dividend \(", "dividend"),
        ),
        date_formats=("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "iso"),
        unsigned=True,
        adjust=_t212_adjust,
    )
)
