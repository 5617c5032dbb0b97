"""Full mode with a real Celery worker (needs REDIS_URL and PostgreSQL, so the worker sees the test's
rows): a run executes on the ``high`` queue; a sweep's chunks and its gather run on ``default``."""

from __future__ import annotations

import math
import time

import pytest
from django.db import connection

from personal_finance.backtesting import services
from personal_finance.backtesting.engine import run_backtest, series_pairs
from personal_finance.backtesting.models import BacktestRun, Sweep
from personal_finance.backtesting.selectors import load_prices_for_symbol
from personal_finance.backtesting.sweep import run_sweep
from personal_finance.backtesting.tasks import run_backtest_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(celery_not_eager):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a shared database (PostgreSQL, DATABASE_URL)")
    return celery_not_eager


def _wait(client, url: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = client.get(url).json()
        if doc["status"] in ("done", "failed", "cancelled"):
            return doc
        time.sleep(0.2)
    pytest.fail(f"{url} did not finish: {doc}")


def _safe(stats: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in stats.items()}


def test_run_executes_on_the_high_queue(worker, auth_client, goog_stored):
    body = {"strategy": "sma_cross", "symbols": ["GOOG"], "params": {"fast": 10, "slow": 20}, "commission": 0.002}
    response = auth_client.post("/api/backtests/", body, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"  # a worker picks it up after the response
    doc = _wait(auth_client, response["Location"])
    assert doc["status"] == "done", doc
    assert doc["queue"] == "high"
    assert doc["worker"].startswith("pytest-")
    expected = run_backtest(load_prices_for_symbol("GOOG"), "sma_cross", {"fast": 10, "slow": 20}, commission=0.002)
    assert doc["stats"] == _safe(expected.stats)
    assert doc["equity"] == series_pairs(expected.equity)
    run = BacktestRun.objects.get(pk=doc["id"])
    assert worker.AsyncResult(run.task_id).get(timeout=10)["queue"] == "high"


def test_sweep_chunks_run_on_default_and_gather_ranks(worker, auth_client, goog_stored):
    grid = {"fast": [5, 10, 15, 20], "slow": [20, 30, 50]}
    body = {"strategy": "sma_cross", "symbols": ["GOOG"], "grid": grid, "metric": "return_pct", "chunk_size": 2}
    response = auth_client.post("/api/backtests/sweeps/", body, format="json")
    assert response.status_code == 202
    doc = _wait(auth_client, response["Location"] + "?limit=100")
    assert doc["status"] == "done", doc
    sweep = Sweep.objects.get(pk=doc["id"])
    assert doc["chunks_done"] == sweep.chunks_total == 6
    assert {c["queue"] for c in doc["chunks"]} == {"default"}
    assert all(c["worker"].startswith("pytest-") for c in doc["chunks"])
    assert doc["gather_queue"] == "default"
    expected = run_sweep(load_prices_for_symbol("GOOG"), "sma_cross", grid, metric="return_pct")
    rows = [_safe(r) for r in expected.to_dict("records")]
    assert doc["table"] == rows


def test_a_cancelled_run_delivered_to_a_worker_does_nothing(worker, user, goog_stored):
    run = BacktestRun.objects.create(
        owner=user, strategy="sma_cross", symbols=["GOOG"], params={"fast": 10, "slow": 20}, task_id="x" * 32
    )
    services.backtest_cancel(run=run)
    result = run_backtest_task.apply_async(args=[run.pk]).get(timeout=30)
    assert (result["status"], result["queue"]) == ("cancelled", "high")
    run.refresh_from_db()
    assert (run.status, run.stats) == ("cancelled", None)
