"""Realtime test helpers: an in-memory channel layer unless a test asks for Redis, a fresh
tracker per test, and communicators that go through the real ASGI stack (origin check, session
and token auth, URL router)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from channels.routing import get_default_application
from channels.testing import WebsocketCommunicator

from personal_finance.realtime import services
from personal_finance.realtime.tracker import tracker

ORIGIN = (b"origin", b"http://127.0.0.1")
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100}}}


@pytest.fixture(autouse=True)
def realtime_settings(settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    settings.REALTIME = {**settings.REALTIME, "EMBEDDED_FEED": False}
    tracker.reset()
    services._watched = (-1.0, frozenset())
    yield settings
    tracker.reset()


@pytest.fixture
def token(user):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=user).key


@pytest.fixture
def other_token(other_user):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=other_user).key


@pytest.fixture
def assets(db):
    """AAPL (closes 100 then 110), MSFT, ^GSPC and EURUSD=X with a close each."""
    from personal_finance.portfolios.tests.factories import AssetFactory, PriceBarFactory

    out = {}
    for symbol in ("AAPL", "MSFT", "^GSPC", "EURUSD=X"):
        out[symbol] = AssetFactory(symbol=symbol)
        PriceBarFactory(asset=out[symbol], date=dt.date(2024, 1, 2), close=Decimal("100"))
    PriceBarFactory(asset=out["AAPL"], date=dt.date(2024, 1, 3), close=Decimal("110"))
    return out


def application():
    """The project's ASGI application (settings.ASGI_APPLICATION: middleware, auth, routing)."""
    return get_default_application()


def communicator(path: str, *, token: str | None = None, cookie: str | None = None) -> WebsocketCommunicator:
    headers = [ORIGIN]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if token:
        path = f"{path}?token={token}"
    return WebsocketCommunicator(application(), path, headers=headers)


async def connected(path: str, **kwargs) -> WebsocketCommunicator:
    comm = communicator(path, **kwargs)
    ok, _ = await comm.connect(timeout=5)
    assert ok
    return comm


async def close_code(comm: WebsocketCommunicator) -> int:
    """The close code after an accept-then-close rejection."""
    ok, _ = await comm.connect(timeout=5)
    assert ok, "rejections accept first so the client sees the code"
    output = await comm.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output["code"]
