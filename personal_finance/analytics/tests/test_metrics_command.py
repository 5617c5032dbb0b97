"""The ``metrics`` command (docs/contracts.md §9): summary line, one JSON document, exit status 2 on bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personal_finance.analytics.metrics import METRIC_KEYS, compute_metrics

ROOT = Path(__file__).resolve().parents[3]


def _write_prices(path: Path, closes, start="2020-01-01", dates=None) -> Path:
    dates = (
        list(dates)
        if dates is not None
        else [d.date().isoformat() for d in pd.bdate_range(start, periods=len(closes))]
    )
    lines = ["Date,Open,High,Low,Close,Volume"]
    for d, c in zip(dates, closes, strict=True):
        lines.append(f"{d},{c},{c},{c},{c},1000")
    path.write_text("\n".join(lines) + "\n")
    return path


def _closes(seed: int, n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(100 * np.cumprod(1 + rng.normal(0.0004, 0.012, n)), 6)


def _run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("metrics", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path):
    prices = _write_prices(tmp_path / "asset.csv", _closes(1))
    bench = _write_prices(tmp_path / "bench.csv", _closes(2))
    return prices, bench


def test_json_is_one_document_with_the_design_keys(files):
    prices, _ = files
    out, err = _run("--prices", str(prices), "--json")
    assert err == ""
    doc = json.loads(out)
    assert list(doc)[: len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert "beta" not in doc
    closes = _closes(1)
    returns = closes[1:] / closes[:-1] - 1
    assert doc["total_return"] == pytest.approx(closes[-1] / closes[0] - 1, rel=1e-9)
    assert doc["sharpe"] == pytest.approx(np.mean(returns) / np.std(returns, ddof=1) * math.sqrt(252), rel=1e-9)


def test_json_with_benchmark_and_rf_equals_compute_metrics(files):
    prices, bench = files
    out, _ = _run("--prices", str(prices), "--benchmark", str(bench), "--rf", "0.03", "--json")
    doc = json.loads(out)
    idx = pd.bdate_range("2020-01-01", periods=400)
    a, b = _closes(1), _closes(2)
    r = pd.Series(a[1:] / a[:-1] - 1, index=idx[1:])
    br = pd.Series(b[1:] / b[:-1] - 1, index=idx[1:])
    expected = compute_metrics(r, br, rf=0.03, start=idx[0])
    assert set(doc) == set(expected)
    for key, value in expected.items():
        assert doc[key] == pytest.approx(value, rel=1e-12), key
    assert doc["max_drawdown_duration_days"] == expected["max_drawdown_duration_days"]


def test_benchmark_is_aligned_by_date(tmp_path):
    a, b = _closes(3, 60), _closes(4, 60)
    dates = [d.date().isoformat() for d in pd.bdate_range("2021-03-01", periods=60)]
    prices = _write_prices(tmp_path / "a.csv", a, dates=dates)
    # the benchmark starts ten days later and skips one day
    keep = [i for i in range(10, 60) if i != 30]
    bench = _write_prices(tmp_path / "b.csv", b[keep], dates=[dates[i] for i in keep])
    doc = json.loads(_run("--prices", str(prices), "--benchmark", str(bench), "--json")[0])
    r = pd.Series(a[1:] / a[:-1] - 1, index=pd.to_datetime(dates[1:]))
    bk = b[keep]
    br = pd.Series(bk[1:] / bk[:-1] - 1, index=pd.to_datetime([dates[i] for i in keep[1:]]))
    common = r.index.intersection(br.index)
    assert len(common) == 48
    beta = np.cov(r[common], br[common], ddof=1)[0, 1] / np.var(br[common], ddof=1)
    assert doc["beta"] == pytest.approx(beta, rel=1e-9)
    assert doc["total_return"] == pytest.approx(a[-1] / a[0] - 1, rel=1e-9)


def test_summary_is_one_line(files):
    prices, bench = files
    out, _ = _run("--prices", str(prices), "--benchmark", str(bench))
    assert out.count("\n") == 1
    assert "399 returns" in out
    assert "Sharpe" in out
    assert "beta" in out


def test_undefined_values_are_null_in_json(tmp_path):
    prices = _write_prices(tmp_path / "flat.csv", [100.0, 100.0, 100.0, 100.0])
    doc = json.loads(_run("--prices", str(prices), "--json")[0])
    assert doc["sharpe"] is None
    assert doc["calmar"] is None
    assert doc["total_return"] == 0.0


@pytest.mark.parametrize(
    ("content", "row", "column"),
    [
        ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,10\n2024-01-03,1,1,1,abc\n", "row 2", "Close"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,10\nnot-a-date,1,1,1,11\n", "row 2", "Date"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,10\n2024-01-03,1,1,1,11\n2024-01-03,1,1,1,12\n", "row 3", "Date"),
        ("Date,Open,High,Low,Close\n2024-01-03,1,1,1,10\n2024-01-02,1,1,1,11\n", "row 2", "Date"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,10\n2024-01-03,1,1,1,0\n", "row 2", "Close"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,10\n2024-01-03,1,1,1,\n", "row 2", "Close"),
    ],
)
def test_bad_prices_exit_2_naming_file_row_and_column(tmp_path, content, row, column):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CommandError) as excinfo:
        _run("--prices", str(path), "--json")
    assert excinfo.value.returncode == 2
    message = str(excinfo.value)
    assert str(path) in message
    assert row in message
    assert repr(column) in message


def test_bad_benchmark_names_the_benchmark_file(files, tmp_path):
    prices, _ = files
    bad = tmp_path / "badbench.csv"
    bad.write_text("Date,Open,High,Low\n2024-01-02,1,1,1\n")
    with pytest.raises(CommandError) as excinfo:
        _run("--prices", str(prices), "--benchmark", str(bad))
    assert excinfo.value.returncode == 2
    assert "badbench.csv" in str(excinfo.value)
    assert "Close" in str(excinfo.value)


def test_missing_file_exit_2(tmp_path):
    with pytest.raises(CommandError) as excinfo:
        _run("--prices", str(tmp_path / "nope.csv"))
    assert excinfo.value.returncode == 2
    assert "nope.csv" in str(excinfo.value)


def test_real_process_exit_status_and_streams(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02,1,1,1,10\n2024-01-03,1,1,1,x\n")
    proc = subprocess.run(
        [sys.executable, "manage.py", "metrics", "--prices", str(path), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "bad.csv" in proc.stderr
    assert "row 2" in proc.stderr
    assert "'Close'" in proc.stderr

    good = _write_prices(tmp_path / "good.csv", _closes(5, 50))
    proc = subprocess.run(
        [sys.executable, "manage.py", "metrics", "--prices", str(good), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total_return"] is not None
