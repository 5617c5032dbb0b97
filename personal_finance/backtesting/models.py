"""Stored backtest runs and parameter sweeps (the engine itself stays free of Django).

Size decisions: a run's equity and buy-and-hold curves are JSON ``[date, value]`` pairs on the run
row (about 30 bytes a bar: 2,500 bars are ~75 kB, read in one go and never queried by date), kept
out of list queries with ``defer``. Trades are rows (``BacktestTrade``) so they can be filtered and
shown in the admin. A sweep stores one ``SweepResult`` row per parameter combination (its figures
as JSON, the ranking metric as a column) and one ``SweepChunk`` row per unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from personal_finance.backtesting.execution import (
    AMOUNT,
    AMOUNT_DECIMALS,
    AMOUNT_MAX_DIGITS,
    CHOICE,
    FILLS,
    FLAG,
    SETTINGS,
    Execution,
    Setting,
)
from personal_finance.contrib.models import TimeStampedModel


class RunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINAL_STATUSES = (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED)


#: Width of a ``choice`` setting's column.
_CHOICE_MAX_LENGTH = 10


def _status_check(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(status__in=RunStatus.values), name=f"{prefix}_status_valid")


def _column_value(setting: Setting, value: Any) -> Any:
    """A setting's value as its column stores it; amounts exactly (``Decimal(str(value))``)."""
    if setting.kind == AMOUNT:
        return Decimal(str(value))
    if setting.kind == FLAG:
        return bool(value)
    return value if setting.kind == CHOICE else float(value)


def _column(setting: Setting) -> models.Field:
    """The database column of an execution setting (its kind decides the type)."""
    extra: dict[str, Any] = {"default": _column_value(setting, setting.default)}
    if setting.column_help:
        extra["help_text"] = setting.column_help
    if setting.kind == AMOUNT:
        return models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMALS, **extra)
    if setting.kind == CHOICE:
        choices = [(value, value.replace("_", " ")) for value in setting.choices]
        return models.CharField(max_length=_CHOICE_MAX_LENGTH, choices=choices, **extra)
    if setting.kind == FLAG:
        return models.BooleanField(**extra)
    return models.FloatField(**extra)


def _with_execution_columns(model: type[models.Model]) -> type[models.Model]:
    """Add one column per execution setting (:data:`~personal_finance.backtesting.execution.SETTINGS`)
    to an abstract model, before the concrete models inherit its fields."""
    for setting in SETTINGS:
        model.add_to_class(setting.name, _column(setting))
    return model


@_with_execution_columns
class BacktestSettings(TimeStampedModel):
    """What a run and a sweep share: who, on which prices, with which execution settings (one
    column per :class:`~personal_finance.backtesting.execution.Execution` setting)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    strategy = models.CharField(max_length=40)
    symbols = models.JSONField(default=list, help_text="symbols whose stored daily bars are the prices")
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)

    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MinValueValidator(0), MaxValueValidator(100)])
    error = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def execution(self) -> Execution:
        """The stored settings, checked, as the engine takes them (floats, docs/contracts.md §6); raises
        ``BacktestInputError`` for a stored value the engine refuses."""
        return Execution(**{s.name: getattr(self, s.name) for s in SETTINGS})

    @staticmethod
    def execution_columns(values: Mapping[str, Any]) -> dict[str, Any]:
        """Column values of execution settings given as the API or ``run_backtest`` takes them
        (missing ones get their default): ``BacktestRun(..., **BacktestRun.execution_columns(v))``."""
        return {s.name: _column_value(s, values.get(s.name, s.default)) for s in SETTINGS}


class BacktestRun(BacktestSettings):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtest_runs")
    params = models.JSONField(default=dict, help_text="strategy parameters after validation (defaults filled)")

    stats = models.JSONField(null=True, blank=True)
    equity = models.JSONField(null=True, blank=True, help_text="[date, value] pairs, one per bar")
    buy_hold = models.JSONField(null=True, blank=True, help_text="[date, value] pairs, one per bar")
    n_bars = models.PositiveIntegerField(null=True, blank=True)
    queue = models.CharField(max_length=40, blank=True, default="", help_text="queue the run was delivered on")
    worker = models.CharField(max_length=255, blank=True, default="", help_text="worker hostname (or 'eager')")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="backtestrun_owner_created")]
        constraints = [
            _status_check("backtestrun"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="backtestrun_progress_max_100"),
            models.CheckConstraint(condition=Q(fill__in=list(FILLS)), name="backtestrun_fill_valid"),
            models.CheckConstraint(condition=Q(cash__gt=0), name="backtestrun_cash_positive"),
        ]

    def __str__(self) -> str:
        return f"backtest #{self.pk} {self.strategy} {','.join(self.symbols or [])} ({self.status})"


class BacktestTrade(models.Model):
    run = models.ForeignKey(BacktestRun, on_delete=models.CASCADE, related_name="trades")
    symbol = models.CharField(max_length=32, blank=True, default="")
    entry_date = models.DateField()
    exit_date = models.DateField(null=True, blank=True)
    entry_price = models.FloatField()
    exit_price = models.FloatField(null=True, blank=True)
    size = models.FloatField(help_text="shares; negative when short")
    pnl = models.FloatField(null=True, blank=True)
    return_pct = models.FloatField(null=True, blank=True)
    commission = models.FloatField(default=0.0)
    is_open = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.symbol or 'trade'} {self.entry_date} x{self.size:g}"


class Sweep(BacktestSettings):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtest_sweeps")
    grid = models.JSONField(help_text="{parameter: [values]} as posted")
    metric = models.CharField(max_length=40, default="sharpe")
    ascending = models.BooleanField(default=False, help_text="smaller metric ranks first")
    combos = models.JSONField(default=list, help_text="the valid combinations, in grid order")
    n_combinations = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True, help_text="invalid combinations and why")
    chunk_size = models.PositiveIntegerField(default=50)
    chunks_total = models.PositiveIntegerField(default=0)
    gather_queue = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="sweep_owner_created")]
        constraints = [
            _status_check("sweep"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="sweep_progress_max_100"),
            models.CheckConstraint(condition=Q(fill__in=list(FILLS)), name="sweep_fill_valid"),
            models.CheckConstraint(condition=Q(cash__gt=0), name="sweep_cash_positive"),
            models.CheckConstraint(condition=Q(chunk_size__gte=1), name="sweep_chunk_size_positive"),
        ]

    def __str__(self) -> str:
        return f"sweep #{self.pk} {self.strategy} by {self.metric} ({self.status})"

    def chunk_combos(self, index: int) -> list[dict]:
        return self.combos[index * self.chunk_size : (index + 1) * self.chunk_size]


class SweepChunk(models.Model):
    """One unit of a sweep's work (``chunk_size`` combinations), done at most once."""

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    queue = models.CharField(max_length=40, blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="")
    seconds = models.FloatField(default=0.0)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sweep", "index"]
        constraints = [models.UniqueConstraint(fields=["sweep", "index"], name="sweepchunk_sweep_index_unique")]

    def __str__(self) -> str:
        return f"sweep #{self.sweep_id} chunk {self.index}"


class SweepResult(models.Model):
    """One parameter combination's figures; ``rank`` is set when the sweep is gathered."""

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveIntegerField(help_text="index of the combination in the grid order")
    rank = models.PositiveIntegerField(null=True, blank=True)
    params = models.JSONField()
    value = models.FloatField(null=True, blank=True, help_text="the ranking metric (NaN stored as null)")
    figures = models.JSONField(help_text="the table's other columns (NaN and infinities as null)")

    class Meta:
        ordering = ["sweep", "rank", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "position"], name="sweepresult_sweep_position_unique"),
        ]
        indexes = [models.Index(fields=["sweep", "rank"], name="sweepresult_sweep_rank")]

    def __str__(self) -> str:
        return f"sweep #{self.sweep_id} rank {self.rank}: {self.params}"
