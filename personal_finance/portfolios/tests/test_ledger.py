"""The pure ledger: average cost, cash effects, splits and the no-short rule."""

from decimal import Decimal as D

import pytest

from personal_finance.portfolios.ledger import LedgerRow, OversellError, replay, trade_amount


def row(type_, asset=None, qty=None, price=None, fees="0", amount=None, fx="1", ref=None):
    qty = None if qty is None else D(qty)
    price = None if price is None else D(price)
    fees = D(fees)
    if amount is None and type_ in ("buy", "sell"):
        amount = trade_amount(type_, qty, price, fees)
    return LedgerRow(type_, asset, qty, price, fees, D(amount or 0), D(fx), trade_date="2024-01-02", ref=ref)


def test_average_cost_repeated_buys_and_partial_sale():
    state = replay(
        [
            row("deposit", amount="10000"),
            row("buy", 1, "10", "100", fees="5"),  # cost 1005
            row("buy", 1, "10", "120", fees="5"),  # cost 1205 -> 20 shares, 2210
            row("sell", 1, "5", "130", fees="2"),  # proceeds 648, removes 552.5
        ]
    )
    pos = state.positions[1]
    assert pos.quantity == D(15)
    assert pos.cost_basis == D("1657.5")
    assert pos.realized_gain == D("95.5")
    assert state.cash == D(10000) - D(1005) - D(1205) + D(648)


def test_selling_everything_then_reentering_starts_a_fresh_cost():
    state = replay([row("buy", 1, "10", "50"), row("sell", 1, "10", "80"), row("buy", 1, "4", "200")])
    pos = state.positions[1]
    assert pos.quantity == D(4)
    assert pos.cost_basis == D(800)
    assert pos.realized_gain == D(300)


def test_split_multiplies_quantity_and_keeps_cost():
    state = replay([row("buy", 1, "10", "400"), row("split", 1, "4")])
    assert state.positions[1].quantity == D(40)
    assert state.positions[1].cost_basis == D(4000)
    state = replay([row("buy", 1, "100", "1"), row("split", 1, "0.1")])  # 1-for-10 reverse split
    assert state.positions[1].quantity == D(10)


def test_fx_rate_converts_cost_and_cash_into_base_currency():
    state = replay([row("deposit", amount="1000", fx="1.1"), row("buy", 1, "2", "100", fx="1.1")])
    assert state.positions[1].cost_basis == D("220.0")
    assert state.cash == D("880.0")


def test_cash_effects_of_every_type():
    state = replay(
        [
            row("deposit", amount="100"),
            row("withdrawal", amount="30"),
            row("interest", amount="2"),
            row("fee", amount="1"),
            row("buy", 1, "1", "10"),
            row("dividend", 1, amount="3"),
        ]
    )
    assert state.cash == D(100 - 30 + 2 - 1 - 10 + 3)
    assert state.net_contributions == D(70)
    assert state.positions[1].dividends == D(3)


def test_selling_more_than_held_is_refused_with_the_row():
    with pytest.raises(OversellError) as info:
        replay([row("buy", 1, "5", "10"), row("sell", 1, "6", "10", ref=7)])
    assert info.value.row.ref == 7
    assert "only 5 held" in str(info.value)


def test_transfer_out_beyond_holdings_is_refused():
    with pytest.raises(OversellError):
        replay([row("transfer_out", 1, "1", "0")])
