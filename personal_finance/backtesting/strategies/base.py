"""What a strategy is: a name, a parameter schema, and a way to turn prices into orders.

Two kinds, chosen by the class attribute ``kind``:

* ``"signal"`` (one asset at a time): :meth:`Strategy.signals` returns the bars where the strategy
  acts and a target for each: ``+1`` close whatever is open and go all-in long, ``-1`` close and go
  all-in short (flat instead when shorting is off), ``0`` close and stay flat. Override ``signals``
  with a vectorised version, or override :meth:`Strategy.next` (called once per bar) and keep the
  default ``signals``.
* ``"allocation"`` (one or many assets): :meth:`Strategy.plan` returns :class:`Decision` s, each a
  set of target weights on a bar (rebalance the whole account) or an amount of cash to invest into
  weights (no selling).

Orders decided on bar ``i`` fill at the open of bar ``i + 1`` or at the close of bar ``i``; the engine
does that, strategies only ever look at bars ``<= i``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from personal_finance.backtesting.errors import BacktestInputError

if TYPE_CHECKING:
    from personal_finance.backtesting.data import MarketData

_REQUIRED = object()
KINDS = ("int", "float", "str", "bool", "weights", "period")
PERIODS = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y", "A": "Y"}


@dataclass(frozen=True)
class Param:
    """One strategy parameter: its kind, default and limits.

    ``kind`` is one of ``int``, ``float``, ``str``, ``bool``, ``weights`` (a mapping symbol -> weight, or
    the text ``"AAPL:0.6,MSFT:0.4"``) and ``period`` (``D``, ``W``, ``M``, ``Q``, ``Y`` for calendar
    periods, or a whole number of bars). Values from the command line arrive as text and are coerced.
    """

    kind: str
    default: Any = _REQUIRED
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}; use one of {', '.join(KINDS)}")

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def describe(self) -> dict[str, Any]:
        """JSON-friendly schema of this parameter (for docs, the API and ``--help`` text)."""
        out: dict[str, Any] = {"type": self.kind, "help": self.help}
        if not self.required:
            out["default"] = self.default
        else:
            out["required"] = True
        for key in ("min", "max", "choices"):
            if getattr(self, key) is not None:
                out[key] = list(getattr(self, key)) if key == "choices" else getattr(self, key)
        return out

    def coerce(self, name: str, value: Any) -> Any:
        """Return ``value`` as this parameter's type, or raise :class:`BacktestInputError`."""
        if value is None:
            if self.required:
                raise BacktestInputError(f"parameter {name!r} is required", field=name)
            return None
        converted = getattr(self, f"_to_{self.kind}")(name, value)
        if self.kind in ("int", "float"):
            if self.min is not None and converted < self.min:
                raise BacktestInputError(f"parameter {name!r} must be >= {self.min}, got {converted}", field=name)
            if self.max is not None and converted > self.max:
                raise BacktestInputError(f"parameter {name!r} must be <= {self.max}, got {converted}", field=name)
        if self.choices is not None and converted not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise BacktestInputError(f"parameter {name!r} must be one of {allowed}, got {converted!r}", field=name)
        return converted

    @staticmethod
    def _to_int(name: str, value: Any) -> int:
        if isinstance(value, bool):
            raise BacktestInputError(f"parameter {name!r} must be a whole number, got {value!r}", field=name)
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise BacktestInputError(f"parameter {name!r} must be a whole number, got {value!r}", field=name)

    @staticmethod
    def _to_float(name: str, value: Any) -> float:
        if isinstance(value, bool):
            raise BacktestInputError(f"parameter {name!r} must be a number, got {value!r}", field=name)
        try:
            out = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise BacktestInputError(f"parameter {name!r} must be a number, got {value!r}", field=name) from None
        if not math.isfinite(out):
            raise BacktestInputError(f"parameter {name!r} must be a finite number, got {value!r}", field=name)
        return out

    @staticmethod
    def _to_str(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise BacktestInputError(f"parameter {name!r} must be text, got {value!r}", field=name)
        return value.strip()

    @staticmethod
    def _to_bool(name: str, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise BacktestInputError(f"parameter {name!r} must be true or false, got {value!r}", field=name)

    @staticmethod
    def _to_period(name: str, value: Any) -> str | int:
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            if value < 1:
                raise BacktestInputError(f"parameter {name!r} must be a positive number of bars", field=name)
            return int(value)
        if isinstance(value, str):
            text = value.strip().upper()
            if text.isdigit() and int(text) >= 1:
                return int(text)
            if text in PERIODS:
                return PERIODS[text]
        raise BacktestInputError(
            f"parameter {name!r} must be D, W, M, Q, Y or a positive number of bars, got {value!r}", field=name
        )

    @staticmethod
    def _to_weights(name: str, value: Any) -> dict[str, float]:
        if isinstance(value, str):
            items = {}
            for part in (p.strip() for p in value.split(",")):
                if not part:
                    continue
                sym, sep, weight = part.rpartition(":") if ":" in part else part.rpartition("=")
                if not sep or not sym.strip():
                    raise BacktestInputError(
                        f"parameter {name!r}: write weights as SYMBOL:WEIGHT,SYMBOL:WEIGHT, got {part!r}", field=name
                    )
                items[sym.strip().upper()] = weight
            value = items
        if not isinstance(value, dict):
            raise BacktestInputError(f"parameter {name!r} must map symbols to weights, got {value!r}", field=name)
        if not value:
            raise BacktestInputError(f"parameter {name!r}: the weights are empty", field=name)
        out = {}
        for sym, weight in value.items():
            w = Param._to_float(name, weight)
            if w < 0:
                raise BacktestInputError(f"parameter {name!r}: weight of {sym} is negative ({w})", field=name)
            out[str(sym).upper()] = w
        total = sum(out.values())
        if abs(total - 1.0) > 1e-6:
            raise BacktestInputError(f"parameter {name!r}: the weights sum to {total:g}, not 1", field=name)
        return out


@dataclass
class Decision:
    """An allocation decision taken on ``bar`` (filled at the next open or at this bar's close).

    ``amount`` None: trade the whole account to ``weights`` (sells first, then buys).
    ``amount`` a number: invest that much of the cash into ``weights``; nothing is sold.
    """

    bar: int
    weights: NDArray[np.float64]
    amount: float | None = None


@dataclass
class Plan:
    """An allocation strategy's orders. With ``drift_threshold`` > 0 the engine also rebalances to
    ``drift_weights`` on any bar where an asset's weight is more than the threshold away from target."""

    decisions: list[Decision]
    drift_threshold: float = 0.0
    drift_weights: NDArray[np.float64] | None = field(default=None)


class Strategy:
    """Base class of every strategy. Subclass, set ``name``, ``kind``, ``params``; register it."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "signal"
    description: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, **params: Any):
        self.p = self.validate_params(params)

    # -- parameters -------------------------------------------------------------------------------
    @classmethod
    def validate_params(cls, params: dict[str, Any] | None) -> dict[str, Any]:
        """Coerce and check ``params`` against the schema; fill defaults; run :meth:`check_params`."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(cls.params))
        if unknown:
            known = ", ".join(cls.params) or "none"
            raise BacktestInputError(
                f"unknown parameter {unknown[0]!r} for strategy {cls.name!r} (known: {known})", field=unknown[0]
            )
        values = {}
        for pname, spec in cls.params.items():
            raw = params.get(pname, None if spec.required else spec.default)
            values[pname] = spec.coerce(pname, raw)
        cls.check_params(values)
        return values

    @classmethod
    def check_params(cls, values: dict[str, Any]) -> None:
        """Rules between parameters (e.g. ``fast < slow``). Raise :class:`BacktestInputError`."""

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {"name": cls.name, "kind": cls.kind, "description": cls.description} | {
            "params": {k: v.describe() for k, v in cls.params.items()}
        }

    # -- data checks ------------------------------------------------------------------------------
    def min_bars(self) -> int:
        """The fewest bars this strategy can work with (longest window + 1 by convention)."""
        return 2

    def check_data(self, data: MarketData) -> None:
        """Checks that depend on the prices (symbols named in weights, enough bars...)."""
        need = self.min_bars()
        if data.n_bars < need:
            raise BacktestInputError(
                f"strategy {self.name!r} needs at least {need} bars with these parameters; the prices have {data.n_bars}",
                field="prices",
            )

    # -- signal strategies ------------------------------------------------------------------------
    def signals(self, data: MarketData, k: int) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
        """Decision bars (ascending int64) and targets (+1/0/-1) for asset column ``k``.

        The default calls :meth:`next` for every bar; override it with a vectorised version when speed
        matters.
        """
        bars, targets = [], []
        full = data.asset_view(k)
        for i in range(data.n_bars):
            end = i + 1  # the strategy sees bars 0..i only: no look-ahead by construction
            view = SimpleNamespace(
                open=full.open[:end],
                high=full.high[:end],
                low=full.low[:end],
                close=full.close[:end],
                index=full.index[:end],
            )
            target = self.next(i, view)
            if target is not None:
                bars.append(i)
                targets.append(int(np.sign(target)))
        return np.asarray(bars, dtype=np.int64), np.asarray(targets, dtype=np.int8)

    def next(self, i: int, view: SimpleNamespace) -> int | None:
        """Per-bar hook: ``view.open/high/low/close/index`` hold bars ``0..i`` (``view.close[-1]`` is
        this bar's close). Return +1, -1, 0 or None (no order)."""
        raise NotImplementedError(f"strategy {self.name!r} must implement signals() or next()")

    # -- allocation strategies --------------------------------------------------------------------
    def plan(self, data: MarketData, cash: float) -> Plan:
        raise NotImplementedError(f"strategy {self.name!r} must implement plan()")

    # helpers for allocation strategies
    def weights_vector(
        self, data: MarketData, weights: dict[str, float] | None, pname: str = "weights"
    ) -> NDArray[np.float64]:
        """Target weights as a vector over ``data.symbols``; ``None`` means equal weights."""
        if weights is None:
            return np.full(data.n_assets, 1.0 / data.n_assets)
        if data.n_assets == 1 and len(weights) == 1:
            return np.array([1.0])  # one asset: its name in the weights does not matter
        unknown = [s for s in weights if s not in data.symbols]
        if unknown:
            raise BacktestInputError(
                f"parameter {pname!r}: no prices for {unknown[0]} (the prices have {', '.join(data.symbols)})",
                field=pname,
            )
        return np.array([weights.get(s, 0.0) for s in data.symbols], dtype=float)
