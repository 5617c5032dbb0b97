"""REST ``backtests/``: create (202, validated), execute (eagerly here), read, list, cancel, delete."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from celery import current_app
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personal_finance.assets.models import PriceBar
from personal_finance.backtesting import services
from personal_finance.backtesting.engine import run_backtest, series_pairs, trades_records
from personal_finance.backtesting.models import BacktestRun, BacktestTrade, RunStatus
from personal_finance.backtesting.selectors import load_prices_for_symbol
from personal_finance.backtesting.tasks import run_backtest_task
from personal_finance.backtesting.tests.conftest import store_bars

URL = "/api/backtests/"
SMA = {"strategy": "sma_cross", "symbols": ["GOOG"], "params": {"fast": 10, "slow": 20}, "commission": 0.002}


def _json_stats(stats: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in stats.items()}


def _post(client, body, capture):
    with capture(execute=True):
        return client.post(URL, body, format="json")


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.mark.django_db(transaction=True)
def test_post_answers_202_with_location_and_runs_eagerly(auth_client, goog_stored):
    response = auth_client.post(URL, SMA, format="json")  # autocommit: on_commit fires as in production
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == {"id", "status"}
    assert body["status"] == "done"  # embedded mode: the run executed in-process on commit
    assert response["Location"].endswith(f"/api/backtests/{body['id']}/")
    run = BacktestRun.objects.get(pk=body["id"])
    assert (run.status, run.progress, run.queue, run.worker) == ("done", 100, "eager", "eager")
    assert run.started_at <= run.finished_at


@pytest.mark.parametrize(
    ("body", "fill"),
    [
        (SMA, "next_open"),
        ({**SMA, "fill": "close", "allow_short": True, "slippage_bps": 5, "fixed_fee": "1.50"}, "close"),
    ],
)
def test_results_equal_run_backtest_on_the_same_prices(auth_client, goog_stored, capture, body, fill):
    run_id = _post(auth_client, body, capture).json()["id"]
    doc = auth_client.get(f"{URL}{run_id}/").json()
    expected = run_backtest(
        load_prices_for_symbol("GOOG"),
        "sma_cross",
        {"fast": 10, "slow": 20},
        cash=10000,
        commission=0.002,
        fill=fill,
        allow_short=body.get("allow_short", False),
        slippage_bps=body.get("slippage_bps", 0),
        fixed_fee=float(body.get("fixed_fee", 0)),
        symbol="GOOG",
    )
    assert doc["status"] == "done"
    assert doc["params"] == {"fast": 10, "slow": 20}
    assert doc["stats"] == _json_stats(expected.stats)
    assert doc["equity"] == series_pairs(expected.equity)
    assert doc["buy_hold"] == series_pairs(expected.buy_hold)
    assert doc["n_bars"] == 500
    want = [
        {k: t[k] for k in ("entry_date", "exit_date", "entry_price", "exit_price", "size", "pnl", "return_pct")}
        for t in trades_records(expected.trades)
    ]
    got = [{k: t[k] for k in want[0]} for t in doc["trades"]]
    assert got == want
    assert all(t["symbol"] == "GOOG" for t in doc["trades"])
    assert doc["trades"][-1]["is_open"] == bool(expected.trades["is_open"].iloc[-1])


def test_allocation_run_on_several_symbols(auth_client, three_stored, capture):
    params = {"weights": {"AAA": 0.5, "BBB": 0.3, "CCC": 0.2}, "period": "Q"}
    body = {"strategy": "rebalance", "symbols": three_stored, "params": params, "commission": 0.001}
    run_id = _post(auth_client, body, capture).json()["id"]
    doc = auth_client.get(f"{URL}{run_id}/").json()
    prices = {s: load_prices_for_symbol(s) for s in three_stored}
    expected = run_backtest(prices, "rebalance", params, commission=0.001)
    assert doc["stats"] == _json_stats(expected.stats)
    assert doc["equity"] == series_pairs(expected.equity)
    assert [t["symbol"] for t in doc["trades"]] == expected.trades["symbol"].tolist()


def test_equity_zero_omits_the_curves(auth_client, goog_stored, capture):
    run_id = _post(auth_client, SMA, capture).json()["id"]
    doc = auth_client.get(f"{URL}{run_id}/?equity=0").json()
    assert "equity" not in doc
    assert "buy_hold" not in doc
    assert doc["stats"]["equity_final"] > 0
    assert doc["trades"]


def test_start_and_end_select_the_bars(auth_client, goog_stored, capture):
    body = {**SMA, "start": "2005-01-01", "end": "2005-06-30"}
    run_id = _post(auth_client, body, capture).json()["id"]
    doc = auth_client.get(f"{URL}{run_id}/").json()
    assert doc["equity"][0][0] >= "2005-01-01"
    assert doc["equity"][-1][0] <= "2005-06-30"
    assert (doc["start"], doc["end"]) == ("2005-01-01", "2005-06-30")


# ------------------------------------------------------------------------------------------------
# Bad input: 400 with a clear message naming the field; nothing stored
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def flawed(goog_stored):
    """GOOG, GOOD (its first 60 bars), BADO (a missing open on one day), ZERO (an open of 0 on one day)."""
    frame = load_prices_for_symbol("GOOG").iloc[:60]
    store_bars("GOOD", frame)
    for symbol, day, value in (("BADO", 30, None), ("ZERO", 40, Decimal(0))):
        asset = store_bars(symbol, frame)
        PriceBar.objects.filter(asset=asset, date=frame.index[day].date()).update(open=value)


@pytest.mark.parametrize(
    ("change", "path", "text"),
    [
        ({"strategy": "nope"}, ("strategy",), "unknown strategy 'nope'"),
        ({"params": {"fast": 10, "slow": 20, "speed": 3}}, ("params", "speed"), "unknown parameter 'speed'"),
        ({"params": {"fast": 20, "slow": 20}}, ("params", "fast"), "fast (20) must be smaller than slow (20)"),
        ({"params": {"fast": 30, "slow": 10}}, ("params", "fast"), "must be smaller than slow"),
        ({"params": {"fast": "ten"}}, ("params", "fast"), "must be a whole number"),
        ({"params": {"fast": 10, "slow": 400}, "end": "2004-12-31"}, ("prices",), "needs at least 401 bars"),
        ({"symbols": ["BADO"], "params": {"fast": 2, "slow": 5}}, ("prices",), "missing Open price on"),
        ({"symbols": ["ZERO"], "params": {"fast": 2, "slow": 5}}, ("prices",), "non-positive Open price 0 on"),
        ({"strategy": "rebalance", "params": {"weights": {}}}, ("params", "weights"), "the weights are empty"),
        ({"strategy": "buy_hold", "params": {"weights": {"MSFT": 1}}, "symbols": ["GOOG", "GOOD"]}, None, None),
        ({"symbols": ["NOPE"]}, ("symbols",), "no stored prices for NOPE"),
        ({"symbols": []}, ("symbols",), "at least 1"),
        ({"start": "2006-01-01", "end": "2005-01-01"}, ("end",), "is before start"),
        ({"cash": -5}, ("cash",), "cash must be positive"),
        ({"commission": 1.5}, ("commission",), "fraction of traded value"),
        ({"fill": "open"}, ("fill",), "not a valid choice"),
        ({"params": ["fast", 10]}, ("params",), "dictionary"),
    ],
)
def test_bad_input_answers_400_naming_the_field(auth_client, flawed, capture, change, path, text):
    response = _post(auth_client, {**SMA, **change}, capture)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert set(body) == {"detail", "errors"}
    if path is None:  # weights naming a symbol that has no prices
        path, text = ("params", "weights"), "no prices for MSFT"
    node = body["errors"]
    for key in path:
        node = node[key]
    assert any(text in message for message in node), body
    assert not BacktestRun.objects.exists()


def test_bad_prices_message_names_symbol_and_date(auth_client, flawed, capture):
    body = {**SMA, "symbols": ["BADO"], "params": {"fast": 2, "slow": 5}}
    detail = _post(auth_client, body, capture).json()["detail"]
    day = load_prices_for_symbol("GOOG").index[30].date().isoformat()
    assert detail == f"prices for BADO: missing Open price on {day}"


# ------------------------------------------------------------------------------------------------
# Lists, scoping, queries
# ------------------------------------------------------------------------------------------------
def _queued_run(owner, **kw) -> BacktestRun:
    fields = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 20}, "symbols": ["GOOG"], "task_id": "t"}
    return BacktestRun.objects.create(owner=owner, **(fields | kw))


def test_list_is_paginated_and_owner_scoped(auth_client, user, other_user, goog_stored, capture):
    mine = _post(auth_client, SMA, capture).json()["id"]
    _queued_run(other_user)
    body = auth_client.get(URL).json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert [r["id"] for r in body["results"]] == [mine]
    row = body["results"][0]
    assert row["summary"]["equity_final"] > 0
    assert "equity" not in row
    assert "trades" not in row


def test_another_users_run_is_not_found(other_client, user, goog_stored):
    run = _queued_run(user)
    assert other_client.get(f"{URL}{run.pk}/").status_code == 404
    assert other_client.post(f"{URL}{run.pk}/cancel/").status_code == 404
    assert other_client.delete(f"{URL}{run.pk}/").status_code == 404
    assert other_client.get(URL).json()["count"] == 0
    run.refresh_from_db()
    assert run.status == "queued"


def test_list_queries_do_not_grow_with_rows(auth_client, user):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert auth_client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    _queued_run(user, stats={"equity_final": 1.0}, equity=[["2024-01-02", 1.0]] * 100)
    few = count_queries()
    for _ in range(20):
        _queued_run(user, stats={"equity_final": 1.0})
    assert count_queries() == few
    assert few <= 3


def test_detail_queries_do_not_grow_with_trades(auth_client, goog_stored, capture, django_assert_max_num_queries):
    run_id = _post(auth_client, {**SMA, "params": {"fast": 2, "slow": 5}}, capture).json()["id"]
    assert BacktestTrade.objects.filter(run_id=run_id).count() > 20
    with django_assert_max_num_queries(2):
        auth_client.get(f"{URL}{run_id}/")


# ------------------------------------------------------------------------------------------------
# Cancel, idempotency, delete
# ------------------------------------------------------------------------------------------------
def test_cancel_a_queued_run_then_executing_it_does_nothing(auth_client, user, goog_stored):
    run = _queued_run(user)
    response = auth_client.post(f"{URL}{run.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    services.backtest_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert run.stats is None
    again = auth_client.post(f"{URL}{run.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["errors"] == {"status": ["the run is cancelled"]}


def test_cancel_while_running_keeps_no_results(user, goog_stored, monkeypatch):
    run = _queued_run(user)
    real = services.load_prices

    def load_then_cancel(*args, **kwargs):
        prices = real(*args, **kwargs)
        services.backtest_cancel(run=BacktestRun.objects.get(pk=run.pk))
        return prices

    monkeypatch.setattr(services, "load_prices", load_then_cancel)
    services.backtest_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.stats, run.equity) == ("cancelled", None, None)
    assert not run.trades.exists()


def test_execute_is_idempotent(auth_client, goog_stored, capture):
    run_id = _post(auth_client, SMA, capture).json()["id"]
    run = BacktestRun.objects.get(pk=run_id)
    trades, finished = run.trades.count(), run.finished_at
    services.backtest_execute(run_id=run_id)
    run.refresh_from_db()
    assert (run.trades.count(), run.finished_at, run.status) == (trades, finished, "done")


def test_a_run_left_running_starts_over(user, goog_stored):
    run = _queued_run(user, status=RunStatus.RUNNING)
    BacktestTrade.objects.create(run=run, entry_date=dt.date(2020, 1, 1), entry_price=1, size=1)
    services.backtest_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "done"
    assert not run.trades.filter(entry_date=dt.date(2020, 1, 1)).exists()


def test_prices_gone_at_execution_fail_the_run(user, db):
    run = _queued_run(user, symbols=["GONE"])
    services.backtest_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert "no stored prices for GONE" in run.error


def test_delete(auth_client, user):
    run = _queued_run(user)
    assert auth_client.delete(f"{URL}{run.pk}/").status_code == 204
    assert not BacktestRun.objects.filter(pk=run.pk).exists()


def test_anonymous_is_refused(api_client, db):
    assert api_client.post(URL, SMA, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_broker_down_fails_the_run_instead_of_a_500(auth_client, goog_stored, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(run_backtest_task, "apply_async", refuse)
    previous, current_app.conf.task_always_eager = current_app.conf.task_always_eager, False
    try:
        response = auth_client.post(URL, SMA, format="json")
    finally:
        current_app.conf.task_always_eager = previous
    assert response.status_code == 202
    assert response.json()["status"] == "failed"
    run = BacktestRun.objects.get(pk=response.json()["id"])
    assert run.error == "could not queue the run (ConnectionRefusedError); try again"
