"""Record and replay YahooClient calls, so tests never touch the network.

A cassette is a JSON file ``{"recorded_at": ..., "calls": [{"method", "args", "result"}]}``.
``manage.py record_yahoo_cassettes`` rewrites them on a machine that can reach Yahoo.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path


def _key(method: str, args: dict) -> str:
    return json.dumps({"method": method, **args}, sort_keys=True, default=str)


def _args(method: str, *values) -> dict:
    if method == "download":
        symbols, start, end = values
        return {"symbols": list(symbols), "start": str(start), "end": str(end) if end else None}
    return {"symbol": values[0]}


class CassetteMiss(LookupError):
    pass


class ReplayClient:
    """Answers YahooClient calls from a cassette; an unrecorded call raises CassetteMiss."""

    def __init__(self, path: str | Path):
        data = json.loads(Path(path).read_text())
        self.calls = {_key(c["method"], c["args"]): c["result"] for c in data["calls"]}
        self.path = path

    def _get(self, method, *values):
        key = _key(method, _args(method, *values))
        if key not in self.calls:
            raise CassetteMiss(f"{self.path}: no recorded call {key}")
        return json.loads(json.dumps(self.calls[key]))  # a fresh copy per call

    def download(self, symbols, start, end):
        return self._get("download", symbols, start, end)

    def quote(self, symbol):
        return self._get("quote", symbol)

    def info(self, symbol):
        return self._get("info", symbol)


class RecordingClient:
    """Wraps a real client and keeps every answer, to be written with ``save``."""

    def __init__(self, client):
        self.client = client
        self.calls: list[dict] = []

    def _record(self, method, result, *values):
        self.calls.append({"method": method, "args": _args(method, *values), "result": result})
        return result

    def download(self, symbols, start, end):
        return self._record("download", self.client.download(symbols, start, end), symbols, start, end)

    def quote(self, symbol):
        return self._record("quote", self.client.quote(symbol), symbol)

    def info(self, symbol):
        return self._record("info", self.client.info(symbol), symbol)

    def save(self, path: str | Path) -> None:
        document = {"recorded_at": dt.datetime.now(dt.UTC).isoformat(), "calls": self.calls}
        Path(path).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
