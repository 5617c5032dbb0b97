"""A clean daily series on real XNYS sessions; each test plants one defect in a copy."""

from __future__ import annotations

import exchange_calendars as xc
import numpy as np
import pandas as pd
import pytest


def clean_frame(start: str = "2023-01-03", end: str = "2023-12-29", seed: int = 7) -> pd.DataFrame:
    sessions = xc.get_calendar("XNYS", start="1990-01-01").sessions_in_range(start, end)
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, len(sessions))))
    open_ = close * np.exp(rng.normal(0, 0.003, len(sessions)))
    high = np.maximum(open_, close) * (1 + rng.uniform(0.001, 0.01, len(sessions)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0.001, 0.01, len(sessions)))
    frame = pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": rng.integers(1e5, 1e6, len(sessions))},
        index=pd.DatetimeIndex(sessions.tz_localize(None) if sessions.tz else sessions, name="Date"),
    )
    return frame.round(6)


@pytest.fixture
def clean() -> pd.DataFrame:
    return clean_frame()


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index_label="Date", date_format="%Y-%m-%d").encode()
