"""``backtest --prices FILE.csv | --symbol SYMBOL --strategy NAME [--param k=v ...]`` (DESIGN 9).

One-line summary by default; ``--json`` prints exactly one JSON document (``stats``, ``trades``,
``equity`` as [date, value] pairs, NaN as null). Bad input exits with status 2 and a message on
stderr (file, row and column for price files).
"""

from __future__ import annotations

import math
from pathlib import Path

from personal_finance.backtesting.engine import FILLS, run_backtest
from personal_finance.backtesting.errors import BacktestInputError
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
        parser.add_argument("--cash", type=float, default=10000.0, help="starting cash (default 10000)")
        parser.add_argument("--commission", type=float, default=0.0, help="fraction of traded value, e.g. 0.002")
        parser.add_argument("--fill", choices=FILLS, default="next_open", help="fill at the next open or this close")
        parser.add_argument("--allow-short", action="store_true", help="let signal strategies go short")
        parser.add_argument("--fixed-fee", type=float, default=0.0, help="cash fee per fill")
        parser.add_argument("--slippage-bps", type=float, default=0.0, help="basis points against every fill")
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
            result = run_backtest(
                prices,
                options["strategy"],
                params,
                cash=options["cash"],
                commission=options["commission"],
                fill=options["fill"],
                allow_short=options["allow_short"],
                fixed_fee=options["fixed_fee"],
                slippage_bps=options["slippage_bps"],
                symbol=symbol,
            )
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
