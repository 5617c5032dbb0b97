"""The one error type of the backtesting package (no Django import)."""

from __future__ import annotations


class BacktestInputError(ValueError):
    """Bad input to a backtest: unknown strategy or parameter, bad prices, bad settings.

    ``field`` names what is wrong (a parameter name, ``"prices"``, ``"cash"``...) so the REST layer
    can render ``{"errors": {field: [message]}}`` and the command can exit with status 2.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
