"""The vectorised valuation agrees with the Decimal ledger replay on random ledgers (splits,
reverse splits, transfers, several trades a day): quantities, cash and values."""

from decimal import Decimal

import numpy as np
import pytest

from personal_finance.analytics.valuation import KINDS, FxArrays, LedgerArrays, PriceArrays, value_portfolio
from personal_finance.portfolios.ledger import LedgerRow, replay


def random_ledger(seed: int, n_assets: int = 4, n_rows: int = 400):
    rng = np.random.default_rng(seed)
    held = np.zeros(n_assets)
    rows = []
    day = 0
    rows.append(("deposit", -1, 0.0, 0.0, 1e6))
    for _ in range(n_rows):
        day += int(rng.integers(0, 3))
        a = int(rng.integers(0, n_assets))
        price = float(np.round(rng.uniform(5, 200), 2))
        roll = rng.random()
        if roll < 0.45:
            q = float(rng.integers(1, 50))
            rows.append(("buy", a, q, price, q * price))
            held[a] += q
        elif roll < 0.75 and held[a] > 0:
            q = float(min(held[a], rng.integers(1, 40)))
            rows.append(("sell", a, q, price, q * price))
            held[a] -= q
        elif roll < 0.8 and held[a] > 0:
            ratio = float(rng.choice([2.0, 3.0, 0.5]))
            rows.append(("split", a, ratio, 0.0, 0.0))
            held[a] *= ratio
        elif roll < 0.85:
            q = float(rng.integers(1, 10))
            rows.append(("transfer_in", a, q, price, 0.0))
            held[a] += q
        elif roll < 0.9 and held[a] >= 1:
            rows.append(("transfer_out", a, 1.0, price, 0.0))
            held[a] -= 1
        else:
            rows.append(("dividend", a, 0.0, 0.0, float(rng.uniform(1, 20))))
        rows[-1] = (day, *rows[-1])
    rows[0] = (0, *rows[0])
    return rows, day


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_valuation_matches_the_ledger(seed):
    rows, last_day = random_ledger(seed)
    n_assets = 4
    ledger = LedgerArrays(
        day=np.array([r[0] for r in rows], dtype="int64"),
        kind=np.array([KINDS[r[1]] for r in rows], dtype="int8"),
        asset=np.array([r[2] for r in rows], dtype="int64"),
        quantity=np.array([r[3] for r in rows]),
        price=np.array([r[4] for r in rows]),
        amount=np.array([r[5] for r in rows]),
        fx=np.ones(len(rows)),
    )
    days = np.arange(0, last_day + 1, dtype="int64")
    closes = [np.full(days.size, 10.0 + a) for a in range(n_assets)]
    v = value_portfolio(
        ledger,
        PriceArrays([days] * n_assets, closes, np.zeros(n_assets, dtype="int64")),
        FxArrays([np.array([], dtype="int64")], [np.array([])]),
        end_day=last_day,
    )
    state = replay(
        LedgerRow(
            r[1],
            r[2] if r[2] >= 0 else None,
            Decimal(repr(r[3])),
            Decimal(repr(r[4])),
            Decimal(0),
            Decimal(repr(r[5])),
            Decimal(1),
            trade_date=r[0],
        )
        for r in rows
    )
    for a in range(n_assets):
        expected = float(state.positions[a].quantity) if a in state.positions else 0.0
        assert v.holding_value_local[-1, a] / (10.0 + a) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert v.cash[-1] == pytest.approx(float(state.cash), rel=1e-12)
    assert np.isfinite(v.returns).all()
