"""Writes of the ledger. Every service is atomic and owner-scoped by its caller's selector."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import NoReturn, Protocol, cast

from django.db import IntegrityError, models, transaction

from personal_finance.assets.models import SYMBOL_RE, Asset
from personal_finance.assets.selectors import fx_rate
from personal_finance.assets.services import asset_get_or_create, normalize_symbol
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.contrib.services import clean_or_raise
from personal_finance.contrib.signals import ledger_changed

from .ledger import LedgerRow, OversellError, replay, trade_amount
from .models import AMOUNT_TYPES, CASH_ONLY_TYPES, SHARE_TYPES, Portfolio, Transaction, TransactionType

logger = logging.getLogger("personal_finance.portfolios")

TYPES = {t.value for t in TransactionType}


# --------------------------------------------------------------------------------------------
# Portfolios
# --------------------------------------------------------------------------------------------
@transaction.atomic
def portfolio_create(
    *, owner, name: str, base_currency: str = "USD", description: str = "", tax_lot_method: str = "fifo"
) -> Portfolio:
    portfolio = Portfolio(
        owner=owner,
        name=name.strip(),
        base_currency=base_currency.upper(),
        description=description,
        tax_lot_method=tax_lot_method,  # tax (issue 7)
    )
    clean_or_raise(portfolio, validate_constraints=False)
    if Portfolio.objects.filter(owner=owner, name=portfolio.name).exists():
        raise ApplicationError("Invalid input.", errors={"name": ["You already have a portfolio with this name."]})
    portfolio.save()
    return portfolio


@transaction.atomic
def portfolio_update(*, portfolio: Portfolio, **fields) -> Portfolio:
    if "base_currency" in fields and fields["base_currency"].upper() != portfolio.base_currency:
        if portfolio.transactions.exists():
            raise ApplicationError(
                "Invalid input.",
                errors={"base_currency": ["The base currency cannot change once the portfolio has transactions."]},
            )
        fields["base_currency"] = fields["base_currency"].upper()
    for key, value in fields.items():
        setattr(portfolio, key, value.strip() if key == "name" else value)
    clean_or_raise(portfolio, validate_constraints=False)
    if Portfolio.objects.filter(owner=portfolio.owner, name=portfolio.name).exclude(pk=portfolio.pk).exists():
        raise ApplicationError("Invalid input.", errors={"name": ["You already have a portfolio with this name."]})
    portfolio.save()
    return portfolio


@transaction.atomic
def portfolio_delete(*, portfolio: Portfolio) -> None:
    portfolio.delete()


# --------------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------------
@dataclass
class TransactionInput:
    """Raw values of one transaction as they come from the API or a CSV row (strings allowed)."""

    type: object = None
    trade_date: object = None
    symbol: object = ""
    quantity: object = None
    price: object = None
    fees: object = None
    amount: object = None
    currency: object = ""
    fx_rate: object = None
    note: object = ""
    external_id: object = ""
    lots: object = None  # tax (issue 7): sell only, {lot id: quantity} for the specific lot method


def _decimal(value, field: str, errors: dict) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            errors.setdefault(field, []).append(f"not a number: {value!r}")
            return None
    if not result.is_finite():
        errors.setdefault(field, []).append(f"not a finite number: {value!r}")
        return None
    return result


def _date(value, errors: dict) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        errors.setdefault("date", []).append("required")
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        errors.setdefault("date", []).append(f"not a date (YYYY-MM-DD): {text!r}")
        return None


class AssetResolver:
    """Finds assets by symbol with one query per batch; creates unknown ones on ``commit``."""

    def __init__(self, symbols=()):
        self.cache: dict[str, Asset] = {a.symbol: a for a in Asset.objects.filter(symbol__in=set(symbols))}
        self.new: dict[str, str] = {}  # symbol -> currency of assets to create

    def currency_of(self, symbol: str, fallback: str) -> str:
        asset = self.cache.get(symbol)
        if asset is not None:
            return asset.currency
        return self.new.setdefault(symbol, fallback)

    def create_new(self) -> None:
        """Create every new asset in one validated bulk insert (an import may bring hundreds)."""
        objs = []
        for symbol, currency in self.new.items():
            if symbol in self.cache:
                continue
            asset = Asset(symbol=symbol, currency=currency)
            clean_or_raise(
                asset,
                message=f"Invalid symbol {symbol!r}.",
                field="symbol",
                validate_unique=False,
                validate_constraints=False,
            )
            objs.append(asset)
        Asset.objects.bulk_create(objs, ignore_conflicts=True)
        self.cache.update({a.symbol: a for a in Asset.objects.filter(symbol__in=[o.symbol for o in objs])})

    def asset_for(self, symbol: str) -> Asset:
        if symbol not in self.cache:
            self.cache[symbol], _ = asset_get_or_create(symbol=symbol, currency=self.new.get(symbol, "USD"))
        return self.cache[symbol]


def transaction_build(
    *, portfolio: Portfolio, data: TransactionInput, assets: AssetResolver, fx_cache: dict | None = None
) -> tuple[Transaction | None, str, dict]:
    """Validate one input into an unsaved Transaction (asset unresolved: returns the symbol).

    Returns ``(transaction, symbol, errors)``; ``errors`` maps column names to messages.
    """
    errors: dict[str, list[str]] = {}
    type_ = str(data.type or "").strip().lower()
    if type_ not in TYPES:
        errors["type"] = [f"unknown type {data.type!r}; expected one of {', '.join(sorted(TYPES))}"]
    trade_date = _date(data.trade_date, errors)
    symbol = normalize_symbol(str(data.symbol or ""))
    quantity = _decimal(data.quantity, "quantity", errors)
    price = _decimal(data.price, "price", errors)
    fees = _decimal(data.fees, "fees", errors) or Decimal(0)
    amount = _decimal(data.amount, "amount", errors)
    fx = _decimal(data.fx_rate, "fx_rate", errors)
    currency = str(data.currency or "").strip().upper()

    if fees < 0:
        errors.setdefault("fees", []).append("must not be negative")
    if fx is not None and fx <= 0:
        errors.setdefault("fx_rate", []).append("must be greater than zero")
    if amount is not None and amount < 0:
        errors.setdefault("amount", []).append("must not be negative (the type gives the direction)")
    if type_ in SHARE_TYPES or type_ in (TransactionType.SPLIT, TransactionType.DIVIDEND):
        if not symbol:
            errors.setdefault("symbol", []).append(f"required for {type_}")
    elif type_ in CASH_ONLY_TYPES and symbol:
        errors.setdefault("symbol", []).append(f"must be empty for {type_}")
    if type_ in SHARE_TYPES or type_ == TransactionType.SPLIT:
        if quantity is None:
            if "quantity" not in errors:
                errors["quantity"] = [f"required for {type_}"]
        elif quantity <= 0:
            errors.setdefault("quantity", []).append("must be greater than zero")
    elif quantity is not None and type_ in CASH_ONLY_TYPES:
        errors.setdefault("quantity", []).append(f"must be empty for {type_}")
    if type_ in (TransactionType.BUY, TransactionType.SELL) and price is None and "price" not in errors:
        errors.setdefault("price", []).append(f"required for {type_}")
    if price is not None and price < 0:
        errors.setdefault("price", []).append("must not be negative")
    if type_ in AMOUNT_TYPES and not errors.get("amount") and (amount is None or amount <= 0):
        errors.setdefault("amount", []).append(f"required and greater than zero for {type_}")
    if symbol and not SYMBOL_RE.match(symbol):
        errors.setdefault("symbol", []).append(f"not a symbol: {symbol!r} (letters, digits and . - = ^ /, at most 32)")
    if currency and (len(currency) != 3 or not currency.isalpha()):
        errors.setdefault("currency", []).append(f"not a three-letter currency code: {currency!r}")
    if len(str(data.external_id or "")) > 100:
        errors.setdefault("external_id", []).append("at most 100 characters")
    tax_lots = _tax_lots(data.lots, type_, quantity, errors)  # tax (issue 7)
    if errors or trade_date is None:  # no date is an error already
        return None, symbol, errors

    if not currency:
        currency = assets.currency_of(symbol, portfolio.base_currency) if symbol else portfolio.base_currency
    elif symbol:
        assets.currency_of(symbol, currency)
    if type_ in (TransactionType.BUY, TransactionType.SELL) and amount is None:
        # A trade without errors has a quantity and a price.
        amount = trade_amount(type_, quantity or Decimal(0), price or Decimal(0), fees)
        if amount < 0:
            errors.setdefault("fees", []).append("fees exceed the sale's gross proceeds")
            return None, symbol, errors
    if fx is None and type_ == TransactionType.SPLIT:
        fx = Decimal(1)  # a split moves no money: no rate needed
    if fx is None:
        key = (currency, trade_date)
        cache = fx_cache if fx_cache is not None else {}
        if key not in cache:
            cache[key] = fx_rate(currency, portfolio.base_currency, trade_date)
        fx = cache[key]
        if fx is None:
            errors["fx_rate"] = [
                f"no {currency}->{portfolio.base_currency} rate stored on or before {trade_date}; give fx_rate"
            ]
            return None, symbol, errors
    tx = Transaction(
        portfolio=portfolio,
        type=type_,
        trade_date=trade_date,
        quantity=quantity if type_ not in CASH_ONLY_TYPES else None,
        price=price if type_ in SHARE_TYPES else None,
        fees=fees,
        amount=amount or Decimal(0),
        currency=currency,
        fx_rate=fx,
        note=str(data.note or "").strip()[:500],
        external_id=str(data.external_id or "").strip(),
        tax_lots=tax_lots,
    )
    if type_ in (TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT) and tx.price is None:
        tx.price = Decimal(0)
    _check_digits(tx, errors, amount_computed=data.amount in (None, ""))
    if errors:
        return None, symbol, errors
    return tx, symbol, {}


def _check_digits(tx: Transaction, errors: dict, *, amount_computed: bool) -> None:
    """Every number fits its column once rounded to the column's decimals (a CSV cell is not
    bounded by a serializer, and quantity x price can outgrow ``amount``). A stored value that does
    not fit cannot be read back and breaks every later read of the portfolio."""
    for name in ("quantity", "price", "fees", "amount", "fx_rate"):
        value = getattr(tx, name)
        if value is None:
            continue
        field = cast(models.DecimalField, Transaction._meta.get_field(name))
        integer_digits = field.max_digits - field.decimal_places
        too_large = (
            value.adjusted() >= integer_digits
            or abs(value.quantize(Decimal(1).scaleb(-field.decimal_places), context=Context(prec=100)))
            >= Decimal(10) ** integer_digits
        )
        if too_large:
            label = "quantity x price" if name == "amount" and amount_computed else name
            errors.setdefault(name, []).append(
                f"{label} is too large: at most {integer_digits} digits before the decimal point"
            )


# --- tax (issue 7): specific lots named by a sale -------------------------------------------
def _tax_lots(value, type_: str, quantity: Decimal | None, errors: dict) -> dict | None:
    """Shape of ``lots`` ({buy transaction id: quantity}); whether the lots are open at the sale
    date is checked by the tax app (``personal_finance.tax.services.sale_lots_check``)."""
    if value is None or value in ({}, ""):
        return None
    if type_ != TransactionType.SELL:
        errors.setdefault("lots", []).append("only a sell names lots")
        return None
    if not isinstance(value, dict):
        errors.setdefault("lots", []).append("expected an object {lot id: quantity}")
        return None
    out: dict[str, str] = {}
    total = Decimal(0)
    for key, raw in value.items():
        lot_id = str(key).strip()
        if not lot_id.isdigit():
            errors.setdefault("lots", []).append(f"lot id must be a buy transaction id, got {key!r}")
            continue
        qty = _decimal(raw, "lots", errors)
        if qty is None:
            continue
        if qty <= 0:
            errors.setdefault("lots", []).append(f"lot {lot_id}: quantity must be greater than zero")
            continue
        out[str(int(lot_id))] = format(qty.normalize(), "f")
        total += qty
    if not errors.get("lots") and quantity is not None and total != quantity:
        errors.setdefault("lots", []).append(
            f"the lots name {format(total.normalize(), 'f')} shares but the sale is of "
            f"{format(quantity.normalize(), 'f')}"
        )
    return out or None


class SaleCheck(Protocol):
    def __call__(self, *, portfolio: Portfolio, sale: Transaction, exclude_id: int | None) -> None: ...


# Checks of a sale that names its tax lots, run before it is stored; each raises ApplicationError
# to refuse it. Filled from AppConfig.ready() by the apps that own the rule (tax: the lots must be
# held at the sale date), so the ledger never imports the layers above it.
SALE_CHECKS: list[SaleCheck] = []


def register_sale_check(check: SaleCheck) -> None:
    if check not in SALE_CHECKS:
        SALE_CHECKS.append(check)


def _check_tax_lots(portfolio: Portfolio, tx: Transaction, exclude_id: int | None = None) -> None:
    if tx.tax_lots:
        for check in SALE_CHECKS:
            check(portfolio=portfolio, sale=tx, exclude_id=exclude_id)


# --- end tax ---


def _as_row(tx: Transaction, ref) -> LedgerRow:
    return LedgerRow(
        type=tx.type,
        asset_id=tx.asset_id,
        quantity=tx.quantity,
        price=tx.price,
        fees=tx.fees,
        amount=tx.amount,
        fx_rate=tx.fx_rate,
        trade_date=tx.trade_date,
        ref=ref,
    )


def ledger_check(*, portfolio: Portfolio, new: list[tuple[Transaction, object]], exclude_ids=()) -> None:
    """Replay the affected assets' history with ``new`` merged in; raise OversellError on a short.

    New rows go after stored rows of the same day, in their given order.
    """
    asset_ids = {tx.asset_id for tx, _ in new if tx.asset_id is not None}
    if not asset_ids:
        return
    stored = (
        Transaction.objects.filter(portfolio=portfolio, asset_id__in=asset_ids)
        .exclude(pk__in=list(exclude_ids))
        .order_by("trade_date", "id")
    )
    rows = [(tx.trade_date, 0, i, _as_row(tx, None)) for i, tx in enumerate(stored)]
    rows += [(tx.trade_date, 1, i, _as_row(tx, ref)) for i, (tx, ref) in enumerate(new)]
    rows.sort(key=lambda r: r[:3])
    replay(r[3] for r in rows)


def _raise_oversell(exc: OversellError, symbol: str) -> NoReturn:
    message = f"{symbol}: {exc}"
    raise ApplicationError(message, errors={"quantity": [message]}) from None


def lock_portfolio(portfolio: Portfolio) -> None:
    """Serialise ledger writes of one portfolio: two concurrent sales cannot both pass the
    no-short check (a row lock on PostgreSQL; SQLite locks the whole database on write)."""
    Portfolio.objects.select_for_update().filter(pk=portfolio.pk).first()


def _locked_build(
    portfolio: Portfolio, data: TransactionInput, *, replacing: Transaction | None = None
) -> tuple[Transaction, str]:
    """Lock the portfolio, validate ``data`` into an unsaved transaction with its asset (created
    when new) and refuse an external id another transaction of the portfolio already has."""
    lock_portfolio(portfolio)
    assets = AssetResolver([normalize_symbol(str(data.symbol or ""))])
    tx, symbol, errors = transaction_build(portfolio=portfolio, data=data, assets=assets)
    if errors or tx is None:
        raise ApplicationError("Invalid input.", errors=errors)
    if symbol:
        tx.asset = assets.asset_for(symbol)
    others = portfolio.transactions.exclude(pk=replacing.pk) if replacing is not None else portfolio.transactions
    if tx.external_id and others.filter(external_id=tx.external_id).exists():
        raise ApplicationError(
            "Invalid input.", errors={"external_id": ["A transaction with this external id already exists."]}
        )
    return tx, symbol


@transaction.atomic
def transaction_record(*, portfolio: Portfolio, data: TransactionInput) -> Transaction:
    tx, symbol = _locked_build(portfolio, data)
    try:
        ledger_check(portfolio=portfolio, new=[(tx, None)])
    except OversellError as exc:
        _raise_oversell(exc, symbol)
    _check_tax_lots(portfolio, tx)  # tax (issue 7)
    try:
        tx.save()
    except IntegrityError as exc:
        raise ApplicationError("Invalid input.", errors={"non_field_errors": [str(exc).splitlines()[0]]}) from None
    logger.info("transaction recorded portfolio=%s id=%s type=%s", portfolio.pk, tx.pk, tx.type)
    ledger_changed.send(sender=Transaction, portfolio_ids=[portfolio.pk])
    return tx


@transaction.atomic
def transaction_update(*, transaction_obj: Transaction, data: TransactionInput) -> Transaction:
    portfolio = transaction_obj.portfolio
    tx, symbol = _locked_build(portfolio, data, replacing=transaction_obj)
    tx.pk = transaction_obj.pk
    tx.created_at = transaction_obj.created_at
    try:
        # The old version leaves the history; the new one enters it at its (possibly new) date.
        ledger_check(portfolio=portfolio, new=[(tx, None)], exclude_ids=[transaction_obj.pk])
        if transaction_obj.asset_id and transaction_obj.asset_id != tx.asset_id:
            _check_asset_without(portfolio, transaction_obj)
    except OversellError as exc:
        _raise_oversell(exc, symbol or getattr(transaction_obj.asset, "symbol", ""))
    _check_tax_lots(portfolio, tx, exclude_id=transaction_obj.pk)  # tax (issue 7)
    tx.save()
    ledger_changed.send(sender=Transaction, portfolio_ids=[portfolio.pk])
    return tx


def _check_asset_without(portfolio: Portfolio, removed: Transaction) -> None:
    stored = (
        Transaction.objects.filter(portfolio=portfolio, asset_id=cast(int, removed.asset_id))  # a share transaction
        .exclude(pk=removed.pk)
        .order_by("trade_date", "id")
    )
    replay(_as_row(tx, tx.pk) for tx in stored)


@transaction.atomic
def transaction_delete(*, transaction_obj: Transaction) -> None:
    lock_portfolio(transaction_obj.portfolio)
    if transaction_obj.asset_id is not None:
        try:
            _check_asset_without(transaction_obj.portfolio, transaction_obj)
        except OversellError as exc:
            raise ApplicationError(
                f"Deleting this transaction would leave a later sale without shares: {exc}",
                errors={"non_field_errors": [str(exc)]},
            ) from None
    portfolio_id = transaction_obj.portfolio_id
    transaction_obj.delete()
    ledger_changed.send(sender=Transaction, portfolio_ids=[portfolio_id])
