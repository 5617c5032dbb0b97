"""REST ``backtests/sweeps/``: the grid fans out as a chord of chunk tasks (eager here, in-process,
the embedded mode) and gathers into the same ranked table as ``run_sweep``."""

from __future__ import annotations

import math

import pytest

from personal_finance.backtesting import services
from personal_finance.backtesting.models import Sweep, SweepChunk, SweepResult
from personal_finance.backtesting.selectors import load_prices_for_symbol
from personal_finance.backtesting.sweep import run_sweep

URL = "/api/backtests/sweeps/"
GRID = {"fast": [5, 10, 15, 20, 30], "slow": [10, 20, 30, 40, 60]}
BODY = {"strategy": "sma_cross", "symbols": ["GOOG"], "grid": GRID, "metric": "sharpe", "commission": 0.002}


def _records(table) -> list[dict]:
    out = []
    for row in table.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    return out


@pytest.fixture
def post(auth_client, django_capture_on_commit_callbacks):
    def _post(body):
        with django_capture_on_commit_callbacks(execute=True):
            return auth_client.post(URL, body, format="json")

    return _post


@pytest.mark.parametrize(
    ("metric", "extra"),
    [
        ("sharpe", {"chunk_size": 4}),
        ("return_pct", {}),
        ("volatility", {"chunk_size": 1, "fill": "close"}),
        ("profit_factor", {"chunk_size": 7, "allow_short": True}),
    ],
)
def test_embedded_sweep_ranks_like_run_sweep(auth_client, goog_stored, post, metric, extra):
    response = post({**BODY, "metric": metric, **extra})
    assert response.status_code == 202, response.json()
    assert response["Location"].endswith(f"{URL}{response.json()['id']}/")
    doc = auth_client.get(f"{URL}{response.json()['id']}/?limit=1000").json()
    settings = {k: v for k, v in extra.items() if k != "chunk_size"}
    expected = run_sweep(
        load_prices_for_symbol("GOOG"), "sma_cross", GRID, metric=metric, commission=0.002, **settings
    )
    assert doc["status"] == "done"
    assert doc["progress"] == 100
    assert doc["chunks_done"] == doc["chunks_total"] == len(doc["chunks"])
    assert doc["n_combinations"] == len(expected)
    assert doc["table"] == _records(expected)
    assert {c["queue"] for c in doc["chunks"]} == {"eager"}
    assert doc["skipped"] == [{"params": s["params"], "reason": s["reason"]} for s in expected.attrs["skipped"]]


def test_limit_and_defaults(auth_client, goog_stored, post):
    sweep_id = post(BODY).json()["id"]
    doc = auth_client.get(f"{URL}{sweep_id}/?limit=3").json()
    assert [row["rank"] for row in doc["table"]] == [1, 2, 3]
    assert set(doc["table"][0]) >= {"rank", "fast", "slow", "sharpe", "max_drawdown", "return_pct", "trades"}
    sweep = Sweep.objects.get(pk=sweep_id)
    assert (sweep.n_combinations, sweep.chunk_size, sweep.chunks_total) == (18, 3, 6)  # at most 8 chunks by default
    bad = auth_client.get(f"{URL}{sweep_id}/?limit=zero")
    assert bad.status_code == 400
    assert "limit" in bad.json()["errors"]
    listing = auth_client.get(URL).json()
    assert listing["results"][0]["chunks_done"] == 6
    assert "table" not in listing["results"][0]


def test_grid_without_invalid_combinations_is_accepted(auth_client, goog_stored, post):
    # Found by fuzzing: a grid whose combinations were all valid answered 400
    # {"skipped": ["This field cannot be blank."]}, a field the request does not have.
    response = post({**BODY, "grid": {"fast": [5, 10], "slow": [30]}})
    assert response.status_code == 202, response.json()
    doc = auth_client.get(f"{URL}{response.json()['id']}/").json()
    assert doc["status"] == "done"
    assert doc["n_combinations"] == 2
    assert doc["skipped"] == []


@pytest.mark.parametrize(
    ("change", "path", "text"),
    [
        ({"metric": "luck"}, ("metric",), "unknown metric 'luck'"),
        ({"strategy": "nope"}, ("strategy",), "unknown strategy 'nope'"),
        ({"grid": {"speed": [1, 2]}}, ("grid", "speed"), "unknown parameter 'speed'"),
        ({"grid": {}}, ("grid",), "the grid is empty"),
        ({"grid": {"fast": [30, 40], "slow": [10, 20]}}, ("grid",), "no valid parameter combination"),
        ({"grid": {"fast": [5], "slow": [600]}}, ("prices",), "needs at least 601 bars"),
        ({"grid": {"fast": ["x"], "slow": [20]}}, ("grid",), "no valid parameter combination"),
        ({"grid": {"fast": [5], "slow": [20]}, "chunk_size": 0}, ("chunk_size",), "greater than or equal to 1"),
        ({"symbols": ["NOPE"]}, ("symbols",), "no stored prices for NOPE"),
        ({"cash": 0}, ("cash",), "cash must be positive"),
    ],
)
def test_bad_sweep_input_answers_400(goog_stored, post, change, path, text):
    response = post({**BODY, **change})
    assert response.status_code == 400, response.json()
    node = response.json()["errors"]
    for key in path:
        node = node[key]
    assert any(text in message for message in node), response.json()
    assert not Sweep.objects.exists()


def test_chunks_and_gather_are_idempotent(auth_client, goog_stored, post):
    sweep_id = post(BODY).json()["id"]
    before = list(SweepResult.objects.filter(sweep_id=sweep_id).values_list("position", "rank", "value"))
    assert services.sweep_chunk_execute(sweep_id=sweep_id, index=0) == 0
    services.sweep_gather_execute(sweep_id=sweep_id)
    after = list(SweepResult.objects.filter(sweep_id=sweep_id).values_list("position", "rank", "value"))
    assert after == before
    assert SweepChunk.objects.filter(sweep_id=sweep_id).count() == 6


def test_cancelled_sweep_stores_nothing(auth_client, user, goog_stored, post):
    # Created without running its on-commit launch: it stays queued.
    sweep = services.sweep_create(owner=user, strategy="sma_cross", grid=GRID, symbols=["GOOG"])
    assert sweep.status == "queued"
    response = auth_client.post(f"{URL}{sweep.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert services.sweep_chunk_execute(sweep_id=sweep.pk, index=0) == 0
    services.sweep_gather_execute(sweep_id=sweep.pk)
    sweep.refresh_from_db()
    assert sweep.status == "cancelled"
    assert not sweep.results.exists()
    assert auth_client.post(f"{URL}{sweep.pk}/cancel/").status_code == 409


def test_a_lost_chunk_fails_the_gather(user, goog_stored):
    sweep = services.sweep_create(owner=user, strategy="sma_cross", grid=GRID, symbols=["GOOG"], chunk_size=10)
    services.sweep_chunk_execute(sweep_id=sweep.pk, index=0)
    services.sweep_gather_execute(sweep_id=sweep.pk)
    sweep.refresh_from_db()
    assert sweep.status == "failed"
    assert sweep.error == f"only 1 of {sweep.chunks_total} chunks finished"


def test_another_users_sweep_is_not_found(other_client, user, goog_stored):
    sweep = services.sweep_create(owner=user, strategy="sma_cross", grid=GRID, symbols=["GOOG"])
    assert other_client.get(f"{URL}{sweep.pk}/").status_code == 404
    assert other_client.post(f"{URL}{sweep.pk}/cancel/").status_code == 404
    assert other_client.delete(f"{URL}{sweep.pk}/").status_code == 404
    assert other_client.get(URL).json()["count"] == 0


def test_sweep_detail_queries_do_not_grow(auth_client, goog_stored, post, django_assert_max_num_queries):
    sweep_id = post({**BODY, "chunk_size": 1}).json()["id"]
    with django_assert_max_num_queries(3):
        doc = auth_client.get(f"{URL}{sweep_id}/?limit=1000").json()
    assert len(doc["chunks"]) == len(doc["table"]) > 10
