"""``backtest --prices FILE.csv | --symbol SYMBOL --strategy NAME [--param k=v ...]`` (docs/contracts.md §9).

One-line summary by default; ``--json`` prints exactly one JSON document (``stats``, ``trades``,
``equity`` as [date, value] pairs, NaN as null). Bad input exits with status 2 and a message on
stderr (file, row and column for price files).
"""

from __future__ import annotations

import math
from pathlib import Path

from personal_finance.backtesting.engine import run_backtest
from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.execution import CHOICE, FLAG, SETTINGS
from personal_finance.backtesting.selectors import load_prices_for_symbol
from personal_finance.backtesting.strategies import REGISTRY
from personal_finance.contrib.commands import ContractCommand, InputError
from personal_finance.data_sources.price_csv import PriceCSVError, read_price_csv


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``["fast=10", "slow=20"]`` -> ``{"fast": "10", "slow": "20"}`` (the strategy coerces types)."""
    params: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {item!r}: write parameters as NAME=VALUE, e.g. --param fast=10")
        if key.strip() in params:
            raise InputError(f"--param {key.strip()!r} given twice")
        params[key.strip()] = value.strip()
    return params


def load_price_files(specs: list[str]):
    """One ``FILE.csv`` -> a DataFrame; several (``FILE.csv`` or ``SYMBOL=FILE.csv``) -> a dict."""
    frames = {}
    for spec in specs:
        symbol, sep, path = spec.partition("=")
        if not sep or not symbol or "/" in symbol or symbol.lower().endswith(".csv"):
            symbol, path = Path(spec).stem, spec
        symbol = symbol.strip().upper()
        if symbol in frames:
            raise InputError(f"--prices: {symbol} given twice (name the files SYMBOL=FILE.csv)")
        frames[symbol] = read_price_csv(path)
    if len(frames) == 1:
        ((symbol, frame),) = frames.items()
        return frame, symbol
    return frames, None


def add_execution_options(parser) -> None:
    """``--cash``, ``--commission``, ``--fill``, ``--allow-short``... one option per execution setting."""
    for setting in SETTINGS:
        text = setting.help.replace("%", "%%")  # argparse %-formats help texts
        if setting.kind == FLAG:
            parser.add_argument(setting.option, dest=setting.name, action="store_true", help=text)
        elif setting.kind == CHOICE:
            text = f"{text} (default {setting.default})"
            parser.add_argument(
                setting.option, dest=setting.name, choices=setting.choices, default=setting.default, help=text
            )
        else:
            text = f"{text} (default {setting.default:g})"
            parser.add_argument(setting.option, dest=setting.name, type=float, default=setting.default, help=text)


def _pct(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.2f}%"


def _num(value, fmt="{:.2f}") -> str:
    return "n/a" if value is None or not math.isfinite(value) else fmt.format(value)


class Command(ContractCommand):
    help = "Backtest a strategy on a price file (or stored prices) and print a summary or JSON."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--prices",
            action="append",
            metavar="FILE.csv",
            help="price CSV (Date,Open,High,Low,Close[,Volume]); repeat as SYMBOL=FILE.csv for several assets",
        )
        source.add_argument("--symbol", action="append", metavar="SYMBOL", help="use stored prices of SYMBOL")
        parser.add_argument("--strategy", required=True, help=f"one of: {', '.join(sorted(REGISTRY))}")
        parser.add_argument("--param", action="append", metavar="NAME=VALUE", help="strategy parameter (repeatable)")
        add_execution_options(parser)
        super().add_arguments(parser)

    def handle(self, *args, **options):
        params = parse_params(options["param"])
        try:
            if options["prices"]:
                prices, symbol = load_price_files(options["prices"])
            else:
                symbols = [s.strip().upper() for s in options["symbol"]]
                frames = {s: load_prices_for_symbol(s) for s in symbols}
                prices, symbol = (frames[symbols[0]], symbols[0]) if len(symbols) == 1 else (frames, None)
            execution = {setting.name: options[setting.name] for setting in SETTINGS}
            result = run_backtest(prices, options["strategy"], params, symbol=symbol, **execution)
        except PriceCSVError as exc:
            self.fail(str(exc))
        except BacktestInputError as exc:
            self.fail(exc.message)

        st = result.stats
        shown = ", ".join(f"{k}={v}" for k, v in result.params.items() if v is not None)
        start, end = result.equity.index[0].date(), result.equity.index[-1].date()
        summary = (
            f"{result.strategy}({shown}) on {', '.join(result.symbols)} {start}..{end}: "
            f"final equity {st['equity_final']:,.2f} ({_pct(st['return_pct'])}), "
            f"buy & hold {_pct(st['buy_hold_return_pct'])}, sharpe {_num(st['sharpe'])}, "
            f"max drawdown {_pct(st['max_drawdown'] * 100 if math.isfinite(st['max_drawdown']) else math.nan)}, "
            f"{st['trades']} closed trades ({st['open_trades']} open), win rate {_num(st['win_rate_pct'], '{:.1f}%')}"
        )
        self.emit(options, summary, result.to_dict)
