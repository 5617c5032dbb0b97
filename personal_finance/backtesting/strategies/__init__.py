"""The strategy registry. ``get_strategy(name)`` returns a class; ``register`` adds one."""

from __future__ import annotations

from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.strategies.allocation import BuyHold, Dca, Momentum, Rebalance
from personal_finance.backtesting.strategies.base import Decision, Param, Plan, Strategy
from personal_finance.backtesting.strategies.sma_cross import SmaCross

REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Add a strategy class to the registry (usable as a class decorator)."""
    if not cls.name or not cls.name.isidentifier():
        raise ValueError(f"strategy name must be an identifier, got {cls.name!r}")
    if cls.kind not in ("signal", "allocation"):
        raise ValueError(f"strategy kind must be 'signal' or 'allocation', got {cls.kind!r}")
    REGISTRY[cls.name] = cls
    return cls


def get_strategy(name: str) -> type[Strategy]:
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(REGISTRY))
        raise BacktestInputError(f"unknown strategy {name!r} (known: {known})", field="strategy") from None


for _cls in (BuyHold, SmaCross, Momentum, Rebalance, Dca):
    register(_cls)

__all__ = ["REGISTRY", "Decision", "Param", "Plan", "Strategy", "get_strategy", "register"]
