"""CSV transaction import: our native format, broker presets and user column mappings.

A format turns each CSV row into a ``TransactionInput``; the import service validates them all,
checks the ledger, and writes everything in one database transaction, or nothing.
Rows are numbered from the first row after the header (row 1); errors name row and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, ClassVar

from django.conf import settings
from django.db import transaction as db_transaction

from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.contrib.signals import ledger_changed
from personal_finance.contrib.textinput import EMPTY, TOO_LARGE, UNDECODABLE, UNREADABLE, TextInputError, read_text

from .ledger import OversellError
from .models import Transaction
from .services import AssetResolver, TransactionInput, ledger_check, lock_portfolio, transaction_build

NATIVE_HEADER = ("date", "type", "symbol", "quantity", "price", "fees", "amount", "currency", "external_id", "note")
FIELDS = (*NATIVE_HEADER, "fx_rate")
REQUIRED_FIELDS = ("date", "type")
MAX_ERRORS = 50


class CsvImportError(ApplicationError):
    """An import failure; ``errors`` maps ``"row N"`` (or ``"file"``) to messages naming columns."""


@dataclass
class CsvFormat:
    """How to read one kind of CSV file.

    ``columns`` maps our field to the source column name(s) (the first present one is used).
    ``types`` maps the source's action text (case-insensitive, exact after trimming) to our type;
    ``type_patterns`` are regular expressions tried in order when no exact match exists.
    ``date_formats`` are ``strptime`` formats tried in order ("iso" for ISO 8601).
    ``unsigned`` takes absolute values of quantity/amount/fees (brokers sign them by direction).
    ``skip`` returns True for rows that are not transactions (totals, blank lines).
    """

    name: str
    description: str
    columns: dict[str, tuple[str, ...]]
    types: dict[str, str] = field(default_factory=dict)
    type_patterns: tuple[tuple[str, str], ...] = ()
    date_formats: tuple[str, ...] = ("iso",)
    unsigned: bool = False
    skip: Callable[[dict], bool] | None = None
    adjust: Callable[[dict, TransactionInput], TransactionInput | None] | None = None
    ignored_types: tuple[str, ...] = ()

    def header_index(self, rows: list[list[str]]) -> int:
        """Index of the header line: the first line holding every required source column."""
        needed = [self.columns[f] for f in REQUIRED_FIELDS if f in self.columns]
        for i, row in enumerate(rows[:20]):
            cells = {c.strip().lower() for c in row}
            if all(any(name.lower() in cells for name in names) for names in needed):
                return i
        return 0


# --- value parsing -------------------------------------------------------------------------------
_NUMBER_JUNK = re.compile(r"[\s$€£¥]|[A-Z]{3}$|^[A-Z]{3}")


def parse_number(text: str, *, unsigned: bool = False) -> str:
    """Normalise a broker number: currency signs, thousands separators, (1.00) negatives."""
    s = (text or "").strip()
    if not s:
        return ""
    negative = s.startswith("(") and s.endswith(")")
    s = s.strip("()")
    s = _NUMBER_JUNK.sub("", s).replace(",", "")
    if negative:
        s = "-" + s.lstrip("-")
    if unsigned:
        s = s.lstrip("-+")
    return s


def parse_date(text: str, formats: tuple[str, ...]) -> dt.date | None:
    s = (text or "").strip()
    # Schwab writes "04/15/2024 as of 04/12/2024": the first date is the settlement record date.
    s = s.split(" as of ")[0].strip()
    for fmt in formats:
        try:
            if fmt == "iso":
                return dt.date.fromisoformat(s[:10])
            return dt.datetime.strptime(s, fmt).date()  # noqa: DTZ007 - a calendar date, no zone
        except ValueError:
            continue
    return None


# --- formats -------------------------------------------------------------------------------------
NATIVE = CsvFormat(
    name="native",
    description="Our format: " + ",".join(NATIVE_HEADER) + " (optional fx_rate column).",
    columns={f: (f,) for f in FIELDS},
)

FORMATS: dict[str, CsvFormat] = {"native": NATIVE}


def register_format(fmt: CsvFormat) -> CsvFormat:
    FORMATS[fmt.name] = fmt
    return fmt


def format_from_mapping(mapping: dict) -> CsvFormat:
    """Build a format from a user's mapping, e.g.
    ``{"columns": {"date": "Trade Date", "type": "Action", ...}, "types": {"Bought": "buy"},
    "date_format": "%d.%m.%Y", "unsigned": true}``. Unmapped fields use the native column names.
    """
    if not isinstance(mapping, dict):
        raise CsvImportError("Invalid mapping.", errors={"mapping": ["must be a JSON object"]})
    unknown = set(mapping) - {"columns", "types", "date_format", "unsigned"}
    if unknown:
        raise CsvImportError("Invalid mapping.", errors={"mapping": [f"unknown keys: {', '.join(sorted(unknown))}"]})
    columns = mapping.get("columns", {})
    if not isinstance(columns, dict) or set(columns) - set(FIELDS):
        bad = sorted(set(columns) - set(FIELDS)) if isinstance(columns, dict) else ["columns"]
        raise CsvImportError(
            "Invalid mapping.",
            errors={"mapping": [f"unknown fields {', '.join(bad)}; fields are {', '.join(FIELDS)}"]},
        )
    types = mapping.get("types", {})
    if not isinstance(types, dict):
        raise CsvImportError("Invalid mapping.", errors={"mapping": ["types must map source text to a type"]})
    date_format = mapping.get("date_format", "iso")
    return CsvFormat(
        name="mapping",
        description="User mapping",
        columns={f: (str(columns[f]),) if f in columns else (f,) for f in FIELDS},
        types={str(k).strip().lower(): str(v).strip().lower() for k, v in types.items()},
        date_formats=(str(date_format), "iso"),
        unsigned=bool(mapping.get("unsigned", False)),
    )


# --- reading -------------------------------------------------------------------------------------
@dataclass
class ParsedRow:
    row: int
    data: TransactionInput
    errors: dict = field(default_factory=dict)


class _ImportInputError(TextInputError):
    """The text reader's errors in the import's words (docs/imports.md, "Errors")."""

    messages: ClassVar[dict[str, str]] = {
        UNREADABLE: "The file cannot be read: {error}.",
        TOO_LARGE: "The file is {size_mb}; the limit is {limit_mb}. Split it into smaller files.",
        EMPTY: "The file is empty.",
        UNDECODABLE: "The file is not UTF-8 text (invalid byte at line {line}). Export or save it as UTF-8.",
    }
    file_errors: ClassVar[dict[str, str]] = {
        UNREADABLE: "cannot read: {error}",
        TOO_LARGE: "larger than {limit} bytes",
        EMPTY: "empty file",
        UNDECODABLE: "not UTF-8 (line {line}, byte {offset})",
    }


def decode(raw: bytes | IO[bytes], *, max_bytes: int, name: str = "file") -> str:
    """The file's text; ``raw`` is its bytes or a file object (an upload: refused by its ``size``
    before it is read). Any reading failure is a ``CsvImportError`` under ``"file"`` (413 when too
    large): the one place the text reader's error becomes the API's."""
    try:
        return read_text(raw, max_bytes=max_bytes, name=name, error=_ImportInputError)
    except _ImportInputError as exc:
        raise CsvImportError(
            exc.message,
            errors={"file": [exc.file_errors[exc.reason or UNREADABLE].format(**exc.details)]},
            status_code=413 if exc.reason == TOO_LARGE else None,
        ) from None


def read_rows(text: str, fmt: CsvFormat) -> list[ParsedRow]:
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CsvImportError(f"Not a readable CSV file: {exc}", errors={"file": [str(exc)]}) from None
    if not lines:
        raise CsvImportError("The file is empty.", errors={"file": ["empty file"]})
    start = fmt.header_index(lines)
    header = [h.strip() for h in lines[start]]
    lower = {h.lower(): i for i, h in enumerate(header)}
    positions: dict[str, int] = {}
    for our, names in fmt.columns.items():
        for name in names:
            if name.lower() in lower:
                positions[our] = lower[name.lower()]
                break
    missing = [f for f in REQUIRED_FIELDS if f not in positions]
    if missing:
        wanted = [fmt.columns.get(f, (f,))[0] for f in missing]
        raise CsvImportError(
            f"Missing column(s): {', '.join(wanted)}. The header is: {', '.join(header) or '(empty)'}",
            errors={"header": [f"missing column {w!r}" for w in wanted]},
        )
    if fmt is NATIVE:
        absent = [c for c in ("symbol", "quantity", "price") if c not in positions]
        if absent:
            raise CsvImportError(
                f"Missing column(s): {', '.join(absent)}. The native header is {','.join(NATIVE_HEADER)}",
                errors={"header": [f"missing column {c!r}" for c in absent]},
            )
    parsed: list[ParsedRow] = []
    rows = 0
    for number, cells in enumerate(lines[start + 1 :], start=1):
        if not any(c.strip() for c in cells):
            continue
        raw = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        if fmt.skip and fmt.skip(raw):
            continue
        values = {f: (cells[i].strip() if i < len(cells) else "") for f, i in positions.items()}
        errors: dict = {}
        rows += 1
        data = _to_input(values, raw, fmt, errors)
        if data is not None:  # None: not a transaction (a type the format ignores)
            parsed.append(ParsedRow(number, data, errors))
    if not rows:
        raise CsvImportError("The file has a header but no transactions.", errors={"file": ["no data rows"]})
    return parsed


def _to_input(values: dict, raw: dict, fmt: CsvFormat, errors: dict) -> TransactionInput | None:
    type_text = values.get("type", "")
    type_ = fmt.types.get(type_text.strip().lower())
    if type_ is None:
        for pattern, mapped in fmt.type_patterns:
            if re.search(pattern, type_text, re.IGNORECASE):
                type_ = mapped
                break
    if type_ is None:
        type_ = type_text.strip().lower()
    if type_ == "ignore" or type_text.strip().lower() in fmt.ignored_types:
        return None
    date_text = values.get("date", "")
    date = parse_date(date_text, fmt.date_formats)
    if date is None:
        expected = " or ".join("YYYY-MM-DD" if f == "iso" else f for f in fmt.date_formats)
        errors["date"] = [f"not a date ({expected}): {date_text!r}" if date_text.strip() else "required"]
    data = TransactionInput(
        type=type_,
        trade_date=date,
        symbol=values.get("symbol", ""),
        quantity=parse_number(values.get("quantity", ""), unsigned=fmt.unsigned)
        if fmt is not NATIVE
        else values.get("quantity", ""),
        price=parse_number(values.get("price", ""), unsigned=True) if fmt is not NATIVE else values.get("price", ""),
        fees=parse_number(values.get("fees", ""), unsigned=True) if fmt is not NATIVE else values.get("fees", ""),
        amount=parse_number(values.get("amount", ""), unsigned=fmt.unsigned)
        if fmt is not NATIVE
        else values.get("amount", ""),
        currency=values.get("currency", ""),
        fx_rate=values.get("fx_rate", ""),
        note=values.get("note", ""),
        external_id=values.get("external_id", ""),
    )
    if fmt.adjust:
        return fmt.adjust(raw, data)
    return data


# --- the import service ----------------------------------------------------------------------------
def transactions_import(
    *,
    portfolio,
    raw: bytes | IO[bytes],
    format_name: str = "native",
    mapping: dict | None = None,
    dry_run: bool = False,
    max_bytes: int | None = None,
    preview_rows: int = 20,
) -> dict:
    """Import a CSV file into ``portfolio``: all rows or none, in one database transaction.

    ``raw`` is the file's bytes or a file object such as an upload, refused when larger than
    ``max_bytes`` (default ``settings.IMPORT_MAX_BYTES``) before it is read.

    Rows whose external id is already in the portfolio (or earlier in the file) are skipped.
    ``dry_run`` validates everything, including the ledger, and returns what would be imported.
    """
    if mapping is not None:
        fmt = format_from_mapping(mapping)
    elif format_name in FORMATS:
        fmt = FORMATS[format_name]
    else:
        raise CsvImportError(
            f"Unknown format {format_name!r}.",
            errors={"format": [f"choose one of {', '.join(sorted(FORMATS))}, or give a mapping"]},
        )
    text = decode(raw, max_bytes=max_bytes or settings.IMPORT_MAX_BYTES)
    parsed = read_rows(text, fmt)

    errors: dict[str, list[str]] = {}

    def add(row: object, column: str, message: str) -> None:
        if len(errors) < MAX_ERRORS:
            errors.setdefault(f"row {row}", []).append(f"column {column}: {message}")

    for p in parsed:
        for column, messages in p.errors.items():
            for m in messages:
                add(p.row, column, m)

    with db_transaction.atomic():
        lock_portfolio(portfolio)
        assets = AssetResolver(str(p.data.symbol or "").strip().upper() for p in parsed)
        existing_ids = set(portfolio.transactions.exclude(external_id="").values_list("external_id", flat=True))
        seen: set[str] = set()
        built: list[tuple[Transaction, int, str]] = []
        skipped: list[int] = []
        fx_cache: dict = {}
        for p in parsed:
            if p.errors:
                continue
            tx, symbol, row_errors = transaction_build(
                portfolio=portfolio, data=p.data, assets=assets, fx_cache=fx_cache
            )
            if row_errors or tx is None:
                for column, messages in row_errors.items():
                    for m in messages:
                        add(p.row, column, m)
                continue
            if tx.external_id:
                if tx.external_id in existing_ids or tx.external_id in seen:
                    skipped.append(p.row)
                    continue
                seen.add(tx.external_id)
            built.append((tx, p.row, symbol))
        if errors:
            raise CsvImportError(_summary(errors), errors=errors)

        new_symbols = sorted(s for s in assets.new if s not in assets.cache)
        if not dry_run:
            assets.create_new()
        for tx, _, symbol in built:
            if symbol:
                tx.asset = assets.asset_for(symbol) if not dry_run or symbol in assets.cache else None
                if tx.asset is None:
                    tx.asset_id = -(new_symbols.index(symbol) + 1)  # stand-in id for the dry-run replay
        try:
            ledger_check(portfolio=portfolio, new=[(tx, row) for tx, row, _ in built])
        except OversellError as exc:
            add(exc.row.ref, "quantity", str(exc))
            raise CsvImportError(_summary(errors), errors=errors) from None

        preview = [
            {
                "row": row,
                "date": tx.trade_date.isoformat(),
                "type": tx.type,
                "symbol": symbol,
                "quantity": None if tx.quantity is None else str(tx.quantity),
                "price": None if tx.price is None else str(tx.price),
                "fees": str(tx.fees),
                "amount": str(tx.amount),
                "currency": tx.currency,
                "fx_rate": str(tx.fx_rate),
                "external_id": tx.external_id,
            }
            for tx, row, symbol in built[:preview_rows]
        ]
        result = {
            "dry_run": dry_run,
            "format": fmt.name,
            "rows": len(parsed),
            "created": 0 if dry_run else len(built),
            "would_create": len(built),
            "skipped_duplicates": len(skipped),
            "skipped_rows": skipped[:100],
            "new_assets": new_symbols,
            "preview": preview,
        }
        if dry_run:
            return result
        Transaction.objects.bulk_create([tx for tx, _, _ in built], batch_size=2000)
        ledger_changed.send(sender=Transaction, portfolio_ids=[portfolio.pk])
    return result


def _summary(errors: dict) -> str:
    first_key = next(iter(errors))
    more = len(errors) - 1
    suffix = f" (and {more} more row{'s' if more != 1 else ''} with errors)" if more else ""
    return f"Nothing was imported. {first_key}, {errors[first_key][0]}{suffix}"
