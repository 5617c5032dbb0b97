"""The execution settings are defined once (``execution.py``); the engine's signature, the model
columns, the admin, the REST serializers and the command's options follow that definition."""

from __future__ import annotations

import ast
import inspect
from decimal import Decimal
from pathlib import Path

import pytest

from personal_finance.backtesting import services
from personal_finance.backtesting.admin import BacktestRunAdmin, SweepAdmin
from personal_finance.backtesting.api.serializers import (
    BacktestCreateSerializer,
    SettingsSerializer,
    SweepCreateSerializer,
)
from personal_finance.backtesting.engine import BacktestInputError, run_backtest
from personal_finance.backtesting.execution import NAMES, SETTINGS, Execution
from personal_finance.backtesting.management.commands.backtest import Command
from personal_finance.backtesting.models import BacktestRun, Sweep
from personal_finance.backtesting.sweep import evaluate_chunk
from personal_finance.backtesting.tasks import run_backtest_task, sweep_chunk_task, sweep_gather_task
from personal_finance.backtesting.tests.conftest import make_ohlc

DEFAULTS = {
    "cash": 10_000.0,
    "commission": 0.0,
    "fill": "next_open",
    "allow_short": False,
    "fixed_fee": 0.0,
    "slippage_bps": 0.0,
}
PACKAGE = Path(__file__).resolve().parents[1]


def test_defaults():
    assert Execution().as_dict() == DEFAULTS
    assert {s.name: s.default for s in SETTINGS} == DEFAULTS
    assert tuple(DEFAULTS) == NAMES


def test_run_backtest_keeps_its_documented_keywords_with_the_same_defaults():
    parameters = inspect.signature(run_backtest).parameters
    keywords = [name for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY and name != "symbol"]
    assert keywords == list(NAMES)
    assert {name: parameters[name].default for name in NAMES} == DEFAULTS


def test_values_are_checked_and_normalised():
    e = Execution(cash=Decimal("2500.50"), commission="0.001", allow_short=1, slippage_bps=3)
    assert (e.cash, e.commission, e.allow_short, e.slippage_bps) == (2500.5, 0.001, True, 3.0)
    assert e.slippage == pytest.approx(0.0003)
    assert not e.fill_close
    assert Execution(fill="close").fill_close
    with pytest.raises(BacktestInputError, match="commission must be a number, got True") as info:
        Execution(commission=True)
    assert info.value.field == "commission"
    # numbers are read first, then the ranges, then the choices: the first problem is reported
    with pytest.raises(BacktestInputError, match="fixed_fee must be a finite number"):
        Execution(cash=-1, fixed_fee=float("inf"), fill="x")
    with pytest.raises(BacktestInputError, match="cash must be positive, got -1"):
        Execution(cash=-1, fill="x")
    with pytest.raises(BacktestInputError, match="slippage_bps must be in \\[0, 10000\\), got 10000"):
        Execution(slippage_bps=10_000)
    with pytest.raises(TypeError):
        Execution(margin=2)


def test_json_settings_are_the_values_given():
    result = run_backtest(make_ohlc([10.0, 11.0, 12.0, 11.0]), "buy_hold", {}, slippage_bps=3, cash=500)
    settings = result.to_dict()["settings"]
    assert settings == {**DEFAULTS, "cash": 500.0, "slippage_bps": 3.0}  # 3 bps, not 3 / 1e4 * 1e4
    assert result.settings.slippage == pytest.approx(0.0003)


def test_evaluate_chunk_takes_the_same_settings(goog):
    with pytest.raises(BacktestInputError, match="cash must be positive"):
        evaluate_chunk(goog, "sma_cross", [{"fast": 5, "slow": 20}], cash=0)
    with pytest.raises(TypeError):
        evaluate_chunk(goog, "sma_cross", [{"fast": 5, "slow": 20}], casH=1)


@pytest.mark.parametrize("model", [BacktestRun, Sweep])
def test_one_column_per_setting(model):
    for setting in SETTINGS:
        assert model._meta.get_field(setting.name).default == setting.default


def test_columns_keep_amounts_exact_and_give_back_the_execution():
    columns = BacktestRun.execution_columns({"cash": Decimal("1234567890123.45"), "fill": "close", "allow_short": 1})
    assert columns == {**DEFAULTS, "cash": Decimal("1234567890123.45"), "fill": "close", "allow_short": True}
    assert columns["fixed_fee"] == Decimal(0)
    run = BacktestRun(**columns)
    assert run.execution == Execution(cash=1234567890123.45, fill="close", allow_short=True)
    run.commission = 2.0
    with pytest.raises(BacktestInputError, match="commission"):
        _ = run.execution


def test_admin_serializers_and_command_list_every_setting():
    for admin_class in (BacktestRunAdmin, SweepAdmin):
        fields = admin_class.fields
        start = fields.index(NAMES[0])
        assert tuple(fields[start : start + len(NAMES)]) == NAMES
    assert tuple(SettingsSerializer().fields) == NAMES
    for serializer in (BacktestCreateSerializer, SweepCreateSerializer):
        fields = serializer().fields
        assert {name: fields[name].default for name in NAMES} == DEFAULTS
    parser = Command().create_parser("manage.py", "backtest")
    options = {action.dest: action for action in parser._actions}
    assert {name: options[name].default for name in NAMES} == DEFAULTS
    assert [s.option for s in SETTINGS] == [options[name].option_strings[0] for name in NAMES]
    assert "--slippage-bps" in parser.format_help()  # help texts survive argparse's %-formatting


def test_task_names_are_unchanged_and_in_one_place():
    assert (
        run_backtest_task.name == services.RUN_BACKTEST_TASK == "personal_finance.backtesting.tasks.run_backtest_task"
    )
    assert sweep_chunk_task.name == services.SWEEP_CHUNK_TASK == "personal_finance.backtesting.tasks.sweep_chunk_task"
    assert (
        sweep_gather_task.name == services.SWEEP_GATHER_TASK == "personal_finance.backtesting.tasks.sweep_gather_task"
    )


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_upward_or_circular_import():
    """Services enqueue tasks by name (tasks import services, never the reverse), and no module of
    the app imports the project's wiring (``config``)."""
    assert not {m for m in _imports(PACKAGE / "services.py") if m.endswith(".tasks") or m == "tasks"}
    for path in PACKAGE.rglob("*.py"):
        assert not {m for m in _imports(path) if m == "config" or m.startswith("config.")}, path
