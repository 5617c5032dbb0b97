"""Lot methods on the same sales, fees, splits and reverse splits, ordering, input errors."""

from __future__ import annotations

import pytest

from personal_finance.tax.engine import TaxInputError, build_report

from .factories import D, buy, report, rows_by, sell, split

# Three lots, one sale of 150 shares for $25 with $7.50 of fees (proceeds $3,742.50, i.e. $24.95 a
# share): b1 100 @ $10 + $5 fee (cost $1,005, long-term at the sale), b2 100 @ $30, b3 100 @ $20
# (both short-term). No purchase is within 30 days of the sale, so no wash sale interferes.
SAME_SALES = [
    buy("b1", "2023-01-03", 100, 10, fees=5),
    buy("b2", "2023-03-01", 100, 30),
    buy("b3", "2023-06-01", 100, 20),
    sell("s1", "2024-02-01", 150, 25, fees="7.50", lots=[("b3", 50), ("b1", 100)]),
]


def _rows(rep):
    return [(r["lot"], r["quantity"], r["proceeds"], r["basis"], r["gain_loss"], r["term"]) for r in rep["realized"]]


def _lots(rep):
    return [(lot["lot"], lot["quantity"], lot["basis"], lot["adjusted_basis"]) for lot in rep["lots"]]


class TestEveryMethodOnTheSameSales:
    def test_fifo(self):
        rep = report(SAME_SALES, "fifo")
        assert _rows(rep) == [
            ("b1", "100", "2495.00", "1005.00", "1490.00", "long"),
            ("b2", "50", "1247.50", "1500.00", "-252.50", "short"),
        ]
        assert _lots(rep) == [("b2", "50", "1500.00", "1500.00"), ("b3", "100", "2000.00", "2000.00")]

    def test_lifo(self):
        rep = report(SAME_SALES, "lifo")
        assert _rows(rep) == [
            ("b3", "100", "2495.00", "2000.00", "495.00", "short"),
            ("b2", "50", "1247.50", "1500.00", "-252.50", "short"),
        ]
        assert _lots(rep) == [("b1", "100", "1005.00", "1005.00"), ("b2", "50", "1500.00", "1500.00")]

    def test_hifo(self):
        rep = report(SAME_SALES, "hifo")
        assert _rows(rep) == [
            ("b2", "100", "2495.00", "3000.00", "-505.00", "short"),
            ("b3", "50", "1247.50", "1000.00", "247.50", "short"),
        ]
        assert _lots(rep) == [("b1", "100", "1005.00", "1005.00"), ("b3", "50", "1000.00", "1000.00")]

    def test_specific(self):
        rep = report(SAME_SALES, "specific")
        assert _rows(rep) == [
            ("b3", "50", "1247.50", "1000.00", "247.50", "short"),
            ("b1", "100", "2495.00", "1005.00", "1490.00", "long"),
        ]
        assert _lots(rep) == [("b2", "100", "3000.00", "3000.00"), ("b3", "50", "1000.00", "1000.00")]

    def test_average(self):
        """Average cost $6,005 / 300 = $20.01666.. a share; the holding period of the shares sold is
        counted first-in-first-out (100 from b1, long-term; 50 from b2, short-term)."""
        rep = report(SAME_SALES, "average")
        assert _rows(rep) == [
            ("b1", "100", "2495.00", "2001.67", "493.33", "long"),
            ("b2", "50", "1247.50", "1000.83", "246.67", "short"),
        ]
        # open shares keep their own cost in `basis`, the pooled average in `adjusted_basis`
        assert _lots(rep) == [("b2", "50", "1500.00", "1000.83"), ("b3", "100", "2000.00", "2001.67")]
        result = build_report(SAME_SALES, method="average")
        assert sum((lot.adjusted_basis for lot in result.lots), D(0)) == D("3002.5")
        assert sum((r.basis for r in result.realized), D(0)) == D("3002.5")

    def test_total_gain_is_the_same_only_when_everything_is_sold(self):
        closing = [*SAME_SALES, sell("s2", "2024-12-02", 150, 25)]
        totals = {m: report(closing, m)["schedule_d"]["net_gain_loss"] for m in ("fifo", "lifo", "hifo", "average")}
        # proceeds 3742.50 + 3750 - costs 6005 = 1487.50 whatever the order of the lots
        assert set(totals.values()) == {"1487.50"}

    def test_hifo_uses_wash_adjusted_cost(self):
        rep = report(
            [
                buy("a", "2024-01-02", 10, 20),
                sell("s0", "2024-01-10", 10, 15),  # loss 50 -> b
                buy("b", "2024-01-20", 10, 16),  # adjusted 21 a share
                buy("c", "2024-01-21", 10, 20.5),
                sell("s1", "2024-06-03", 10, 25),
            ],
            "hifo",
        )
        (row,) = rows_by(rep, "s1")
        assert (row["lot"], row["basis"]) == ("b", "210.00")

    def test_specific_without_lots_falls_back_to_fifo(self):
        rep = report(
            [buy("a", "2024-01-02", 10, 1), buy("b", "2024-01-03", 10, 2), sell("s", "2024-02-01", 5, 3)], "specific"
        )
        assert rows_by(rep, "s")[0]["lot"] == "a"


class TestSplits:
    def test_forward_split_keeps_basis_and_date(self):
        rep = report([buy("b1", "2023-01-03", 100, 50, fees=10), split("x", "2023-06-01", 2)])
        assert rep["lots"] == [
            {
                "lot": "b1",
                "symbol": "XYZ",
                "quantity": "200",
                "basis": "5010.00",
                "adjusted_basis": "5010.00",
                "date_acquired": "2023-01-03",
            }
        ]
        rep = report([buy("b1", "2023-01-03", 100, 50), split("x", "2023-06-01", 2), sell("s", "2024-02-01", 150, 30)])
        (row,) = rep["realized"]
        assert (row["quantity"], row["basis"], row["proceeds"], row["gain_loss"], row["term"]) == (
            "150",
            "3750.00",
            "4500.00",
            "750.00",
            "long",
        )
        assert rep["lots"][0]["quantity"] == "50"
        assert rep["lots"][0]["basis"] == "1250.00"

    def test_reverse_split(self):
        rep = report(
            [
                buy("b1", "2023-01-03", 100, 2),
                buy("b2", "2023-02-01", 50, 3),
                split("x", "2023-06-01", "0.1"),  # 1:10
                sell("s", "2023-07-03", 12, 30),
            ]
        )
        assert [(r["lot"], r["quantity"], r["basis"], r["gain_loss"]) for r in rep["realized"]] == [
            ("b1", "10", "200.00", "100.00"),
            ("b2", "2", "60.00", "0.00"),
        ]
        assert [(lot["lot"], lot["quantity"], lot["basis"]) for lot in rep["lots"]] == [("b2", "3", "90.00")]

    def test_split_applies_to_its_symbol_only_and_to_later_buys_not_at_all(self):
        rep = report(
            [
                buy("a", "2023-01-03", 10, 10, symbol="AAA"),
                buy("z", "2023-01-03", 10, 10, symbol="ZZZ"),
                split("x", "2023-06-01", 3, symbol="AAA"),
                buy("a2", "2023-07-03", 10, 4, symbol="AAA"),
            ]
        )
        assert {lot["lot"]: lot["quantity"] for lot in rep["lots"]} == {"a": "30", "z": "10", "a2": "10"}

    def test_selling_pre_split_quantity_after_reverse_split_is_an_error(self):
        with pytest.raises(TaxInputError) as exc:
            build_report(
                [buy("b", "2023-01-03", 100, 1), split("x", "2023-02-01", "0.5"), sell("s", "2023-03-01", 100, 2)]
            )
        assert exc.value.row == 3
        assert exc.value.column == "quantity"


class TestOrderingAndFees:
    def test_same_day_trades_keep_input_order(self):
        rep = report([buy("b1", "2024-01-02", 10, 10), sell("s1", "2024-01-02", 10, 11)])
        assert rows_by(rep, "s1")[0]["gain_loss"] == "10.00"
        with pytest.raises(TaxInputError):
            build_report([sell("s1", "2024-01-02", 10, 11), buy("b1", "2024-01-02", 10, 10)])

    def test_time_orders_trades_of_one_day(self):
        rep = report([sell("s1", "2024-01-02", 10, 11, time="15:30"), buy("b1", "2024-01-02", 10, 10, time="09:31")])
        assert rows_by(rep, "s1")[0]["gain_loss"] == "10.00"

    def test_fees_add_to_basis_and_reduce_proceeds(self):
        rep = report(
            [buy("b", "2024-01-02", 3, "10.005", fees="1.99"), sell("s", "2024-02-01", 3, "12.50", fees="2.01")]
        )
        (row,) = rep["realized"]
        assert (row["proceeds"], row["basis"], row["gain_loss"]) == ("35.49", "32.01", "3.48")

    def test_rounding_half_up_at_report_time_only(self):
        # 3 shares for $10 total: each third of the lot costs 3.333.. ; full precision is kept inside
        rep = build_report(
            [buy("b", "2024-01-02", 3, "3.3333333333333333333333333333333"), sell("s", "2024-02-01", 1, 4)]
        )
        row = rep.realized[0]
        assert row.basis == D("3.3333333333333333333333333333333")
        assert rep.to_dict()["realized"][0]["basis"] == "3.33"
        assert rep.to_dict()["lots"][0]["basis"] == "6.67"


class TestErrors:
    def test_sell_more_than_held_names_the_row(self):
        with pytest.raises(TaxInputError) as exc:
            build_report([buy("b", "2024-01-02", 10, 1), sell("s", "2024-01-03", 11, 1)])
        assert (exc.value.row, exc.value.column) == (2, "quantity")
        assert "exceeds the 10 shares held" in str(exc.value)

    def test_sale_takes_only_its_own_account(self):
        with pytest.raises(TaxInputError):
            build_report([buy("b", "2024-01-02", 10, 1, account="a"), sell("s", "2024-01-03", 5, 1, account="b")])

    def test_specific_unknown_lot(self):
        with pytest.raises(TaxInputError) as exc:
            build_report(
                [buy("b", "2024-01-02", 10, 1), sell("s", "2024-01-03", 5, 1, lots=[("nope", 5)])], method="specific"
            )
        assert (exc.value.row, exc.value.column) == (2, "lots")

    def test_specific_quantities_must_add_up_and_fit(self):
        with pytest.raises(TaxInputError, match="lots name 4 shares"):
            build_report(
                [buy("b", "2024-01-02", 10, 1), sell("s", "2024-01-03", 5, 1, lots=[("b", 4)])], method="specific"
            )
        with pytest.raises(TaxInputError, match="holds 10 shares"):
            build_report(
                [
                    buy("b", "2024-01-02", 10, 1),
                    buy("c", "2024-01-02", 10, 1),
                    sell("s", "2024-01-03", 12, 1, lots=[("b", 12)]),
                ],
                method="specific",
            )

    def test_duplicate_id_and_bad_values(self):
        with pytest.raises(TaxInputError, match="duplicate id"):
            build_report([buy("b", "2024-01-02", 10, 1), buy("b", "2024-01-03", 10, 1)])
        with pytest.raises(TaxInputError, match="quantity must be positive"):
            build_report([buy("b", "2024-01-02", -1, 1)])
        with pytest.raises(TaxInputError, match="unknown lot method"):
            build_report([buy("b", "2024-01-02", 1, 1)], method="random")
