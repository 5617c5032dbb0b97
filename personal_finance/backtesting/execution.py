"""The execution settings of a backtest (docs/contracts.md §13), defined once: names, defaults, valid ranges
and the checks. Pure Python (no Django): :func:`~personal_finance.backtesting.engine.run_backtest`
builds an :class:`Execution` from its keywords, and the model columns, the admin, the REST
serializers and the ``backtest`` command's options are derived from :data:`SETTINGS`.

    >>> Execution(cash=20_000, commission=0.002, fill="close")
    Execution(cash=20000.0, commission=0.002, fill='close', allow_short=False, fixed_fee=0.0, slippage_bps=0.0)
    >>> [(s.name, s.default) for s in SETTINGS][:2]
    [('cash', 10000.0), ('commission', 0.0)]

Adding a setting here adds it everywhere (the model column then needs a migration).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from personal_finance.backtesting.broker import Settings
from personal_finance.backtesting.errors import BacktestInputError

FILLS = ("next_open", "close")

#: Kinds of setting. ``amount``: a sum of money (float in the engine; stored and served with
#: :data:`AMOUNT_DECIMALS` decimals, :data:`AMOUNT_MAX_DIGITS` digits); ``number``: a float;
#: ``choice``: one of :attr:`Setting.choices`; ``flag``: a boolean, off by default.
AMOUNT, NUMBER, CHOICE, FLAG = "amount", "number", "choice", "flag"
AMOUNT_MAX_DIGITS = 18
AMOUNT_DECIMALS = 2


@dataclass(frozen=True)
class Setting:
    """One execution setting: what it is, its default and the values it accepts.

    The range is ``minimum``/``maximum`` (``None``: unbounded), each bound excluded when its
    ``exclusive_*`` flag is set; ``rule`` says it in words for error messages. ``help`` is for
    people at the command line; ``api_help`` and ``column_help`` are the REST field's description
    (as published in the OpenAPI schema) and the database column's ``help_text`` ("" for none).
    """

    name: str
    default: Any
    kind: str
    help: str
    rule: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[str, ...] = ()
    api_help: str = ""
    column_help: str = ""

    @property
    def is_number(self) -> bool:
        return self.kind in (AMOUNT, NUMBER)

    @property
    def option(self) -> str:
        """The command-line option: ``--slippage-bps`` for ``slippage_bps``."""
        return "--" + self.name.replace("_", "-")

    def accepts(self, value: float) -> bool:
        """Whether a finite number lies in the range."""
        low, high = self.minimum, self.maximum
        if low is not None and (value <= low if self.exclusive_minimum else value < low):
            return False
        return not (high is not None and (value >= high if self.exclusive_maximum else value > high))

    def to_number(self, value: Any) -> float:
        """``value`` as a finite float (``BacktestInputError`` naming the setting otherwise)."""
        if isinstance(value, bool):
            raise BacktestInputError(f"{self.name} must be a number, got {value!r}", field=self.name)
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise BacktestInputError(f"{self.name} must be a number, got {value!r}", field=self.name) from None
        if not math.isfinite(out):
            raise BacktestInputError(f"{self.name} must be a finite number, got {value!r}", field=self.name)
        return out


def _setting(default: Any, kind: str, text: str, **spec: Any) -> Any:
    """A dataclass field of :class:`Execution` carrying its :class:`Setting` (less name and default)."""
    return field(default=default, metadata={"setting": {"kind": kind, "help": text, **spec}})


@dataclass(frozen=True)
class Execution:
    """How orders are executed: the settings of :func:`run_backtest` after their checks (numbers
    as floats). Raises :class:`BacktestInputError` naming the setting on a bad value."""

    cash: float = _setting(
        10_000.0, AMOUNT, "starting cash", rule="must be positive", minimum=0.0, exclusive_minimum=True
    )
    commission: float = _setting(
        0.0,
        NUMBER,
        "fraction of traded value charged on every fill, e.g. 0.002 = 0.2%",
        rule="is a fraction of traded value (0.002 = 0.2%) in [0, 1)",
        minimum=0.0,
        maximum=1.0,
        exclusive_maximum=True,
        api_help="fraction of traded value, 0.002 = 0.2%",
        column_help="fraction of traded value (0.002 = 0.2%)",
    )
    fill: str = _setting("next_open", CHOICE, "fill at the next bar's open or at this bar's close", choices=FILLS)
    allow_short: bool = _setting(False, FLAG, "let signal strategies go short")
    fixed_fee: float = _setting(
        0.0, AMOUNT, "cash fee per fill", rule="must be >= 0", minimum=0.0, api_help="cash per fill"
    )
    slippage_bps: float = _setting(
        0.0,
        NUMBER,
        "basis points against every fill",
        rule="must be in [0, 10000)",
        minimum=0.0,
        maximum=10_000.0,
        exclusive_maximum=True,
        api_help="basis points against every fill",
    )

    def __post_init__(self) -> None:
        # numbers first, then their ranges, then the choices: the first error is the one reported
        numbers = {s.name: s.to_number(getattr(self, s.name)) for s in SETTINGS if s.is_number}
        for s in SETTINGS:
            if s.is_number and not s.accepts(numbers[s.name]):
                raise BacktestInputError(f"{s.name} {s.rule}, got {numbers[s.name]:g}", field=s.name)
        for s in SETTINGS:
            value = getattr(self, s.name)
            if s.kind == CHOICE and value not in s.choices:
                raise BacktestInputError(
                    f"{s.name} must be one of {', '.join(s.choices)}, got {value!r}", field=s.name
                )
            if s.kind == FLAG:
                numbers[s.name] = bool(value)
        for name, value in numbers.items():
            object.__setattr__(self, name, value)

    @property
    def slippage(self) -> float:
        """Slippage as a fraction of the price (``slippage_bps / 10000``)."""
        return self.slippage_bps / 10_000.0

    @property
    def fill_close(self) -> bool:
        return self.fill == "close"

    def as_dict(self) -> dict[str, Any]:
        """``{name: value}``: the keywords of ``run_backtest`` and the ``settings`` of its JSON document."""
        return asdict(self)

    def broker_settings(self) -> Settings:
        """What the execution kernels of :mod:`~personal_finance.backtesting.broker` take."""
        return Settings(
            cash=self.cash,
            commission=self.commission,
            fixed_fee=self.fixed_fee,
            slippage=self.slippage,
            fill_close=self.fill_close,
            allow_short=self.allow_short,
        )


#: The settings in :class:`Execution`'s order (that of ``run_backtest``'s keywords).
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name=f.name, default=f.default, **f.metadata["setting"]) for f in fields(Execution)
)
NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)
