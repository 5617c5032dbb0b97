"""The WebSocket protocol of docs/contracts.md §8 through the real ASGI stack with an in-memory layer."""

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from personal_finance.realtime.services import publish_price
from personal_finance.realtime.tracker import status, tracker

from .conftest import close_code, communicator, connected

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

TS = dt.datetime(2024, 1, 3, 15, 4, 5, tzinfo=dt.UTC)


async def publish(symbol, price, **kwargs):
    await sync_to_async(publish_price)(symbol=symbol, price=Decimal(price), ts=kwargs.pop("ts", TS), **kwargs)


async def subscribe(comm, *symbols):
    await comm.send_json_to({"action": "subscribe", "symbols": list(symbols)})
    return await comm.receive_json_from(timeout=5)


async def error_of(comm, payload=None, text=None):
    if text is not None:
        await comm.send_to(text_data=text)
    else:
        await comm.send_json_to(payload)
    reply = await comm.receive_json_from(timeout=5)
    assert reply["type"] == "error", reply
    assert set(reply) == {"type", "message"}
    return reply["message"]


# -- authentication --------------------------------------------------------------------------
async def test_anonymous_is_closed_with_4401(db):
    assert await close_code(communicator("/ws/prices/")) == 4401
    assert await close_code(communicator("/ws/portfolios/1/")) == 4401


async def test_bad_token_is_closed_with_4401(db):
    assert await close_code(communicator("/ws/prices/", token="not-a-token")) == 4401


async def test_session_cookie_authenticates(user, assets):
    from django.test import Client

    client = await sync_to_async(Client)()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    comm = await connected("/ws/prices/", cookie=cookie)
    assert await subscribe(comm, "AAPL") == {"type": "subscribed", "symbols": ["AAPL"]}
    await comm.disconnect()


# -- prices ------------------------------------------------------------------------------------
async def test_subscribe_then_prices_in_the_contract_shape(token, assets):
    comm = await connected("/ws/prices/", token=token)
    assert await subscribe(comm, "aapl", " msft ") == {"type": "subscribed", "symbols": ["AAPL", "MSFT"]}
    await publish("AAPL", "121.000")
    message = await comm.receive_json_from(timeout=5)
    # change against the last close before the day (2024-01-02: 100)
    assert message == {
        "type": "price",
        "symbol": "AAPL",
        "price": "121",
        "change_pct": "21.00",
        "ts": "2024-01-03T15:04:05Z",
    }
    await publish("MSFT", "99.5", simulated=True, previous_close=Decimal("100"))
    message = await comm.receive_json_from(timeout=5)
    assert message == {
        "type": "price",
        "symbol": "MSFT",
        "price": "99.5",
        "change_pct": "-0.50",
        "ts": "2024-01-03T15:04:05Z",
        "simulated": True,
    }
    await comm.disconnect()


async def test_unsubscribe_stops_prices_and_only_subscribed_symbols_arrive(token, assets):
    comm = await connected("/ws/prices/", token=token)
    await subscribe(comm, "AAPL")
    await publish("MSFT", "1")
    assert await comm.receive_nothing(timeout=0.2)
    await comm.send_json_to({"action": "unsubscribe", "symbols": ["AAPL", "MSFT"]})
    assert await comm.receive_json_from(timeout=5) == {"type": "unsubscribed", "symbols": ["AAPL", "MSFT"]}
    await publish("AAPL", "2")
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_symbols_with_special_characters_map_to_their_own_groups(token, assets):
    comm = await connected("/ws/prices/", token=token)
    await subscribe(comm, "^GSPC", "EURUSD=X")
    await publish("EURUSD=X", "1.0825")
    assert (await comm.receive_json_from(timeout=5))["symbol"] == "EURUSD=X"
    await publish("^GSPC", "4700.5")
    assert (await comm.receive_json_from(timeout=5))["symbol"] == "^GSPC"
    await comm.disconnect()


async def test_two_clients_each_get_the_price(token, other_token, assets):
    a = await connected("/ws/prices/", token=token)
    b = await connected("/ws/prices/", token=other_token)
    await subscribe(a, "AAPL")
    await subscribe(b, "AAPL")
    await publish("AAPL", "101")
    assert (await a.receive_json_from(timeout=5))["price"] == "101"
    assert (await b.receive_json_from(timeout=5))["price"] == "101"
    await a.disconnect()
    await b.disconnect()


# -- errors keep the connection open ----------------------------------------------------------
async def test_bad_messages_get_errors_and_the_connection_stays_open(token, assets, realtime_settings):
    realtime_settings.REALTIME = {**realtime_settings.REALTIME, "MAX_MESSAGES_PER_SECOND": 100}
    comm = await connected("/ws/prices/", token=token)
    assert (await error_of(comm, text="{not json")).startswith("invalid JSON")
    assert "JSON object" in await error_of(comm, text="[1, 2]")
    assert await error_of(comm, {"action": "dance"}) == "unknown action 'dance': use 'subscribe' or 'unsubscribe'"
    assert "unknown action" in await error_of(comm, {"symbols": ["AAPL"]})
    assert '"symbols" must be a non-empty list' in await error_of(comm, {"action": "subscribe", "symbols": "AAPL"})
    assert '"symbols" must be a non-empty list' in await error_of(comm, {"action": "subscribe", "symbols": []})
    assert "invalid symbol 'AA PL'" in await error_of(comm, {"action": "subscribe", "symbols": ["AA PL"]})
    assert "symbols are strings" in await error_of(comm, {"action": "subscribe", "symbols": [7]})
    assert await error_of(comm, {"action": "subscribe", "symbols": ["NOPE"]}) == "unknown symbol(s): NOPE"
    await comm.send_to(bytes_data=b"\x00\x01")
    assert "not binary" in (await comm.receive_json_from(timeout=5))["message"]
    # nothing of the failed requests was subscribed, and the connection still works
    assert await subscribe(comm, "AAPL") == {"type": "subscribed", "symbols": ["AAPL"]}
    assert tracker.snapshot()["symbols"] == {"AAPL": 1}
    await comm.disconnect()


# -- limits ------------------------------------------------------------------------------------
async def test_symbol_limit_per_connection(token, assets, realtime_settings):
    realtime_settings.REALTIME = {**realtime_settings.REALTIME, "MAX_SYMBOLS": 2}
    comm = await connected("/ws/prices/", token=token)
    await subscribe(comm, "AAPL", "MSFT")
    message = await error_of(comm, {"action": "subscribe", "symbols": ["^GSPC"]})
    assert message.startswith("subscription limit: at most 2 symbols per connection (subscribed to 2, asked for 1")
    assert (
        await error_of(comm, {"action": "unsubscribe", "symbols": ["A", "B", "C"]})
        == "too many symbols in one message: at most 2"
    )
    await comm.send_json_to({"action": "unsubscribe", "symbols": ["MSFT"]})
    await comm.receive_json_from(timeout=5)
    assert (await subscribe(comm, "^GSPC"))["type"] == "subscribed"
    await comm.disconnect()


async def test_message_rate_limit_and_size_limit(token, assets, realtime_settings):
    realtime_settings.REALTIME = {**realtime_settings.REALTIME, "MAX_MESSAGES_PER_SECOND": 3, "MAX_MESSAGE_BYTES": 200}
    comm = await connected("/ws/prices/", token=token)
    assert await error_of(comm, text="x" * 201) == "message too large: at most 200 bytes"
    for _ in range(6):
        await comm.send_json_to({"action": "subscribe", "symbols": ["AAPL"]})
    replies = [await comm.receive_json_from(timeout=5) for _ in range(3)]
    # 3 tokens: the oversized message used one, two subscribes pass, then one notice for the flood
    assert [r["type"] for r in replies] == ["subscribed", "subscribed", "error"]
    assert replies[2]["message"] == "rate limit: at most 3 messages per second; message ignored"
    assert await comm.receive_nothing(timeout=0.2)
    assert tracker.counters["rate_limited"] == 4
    await asyncio.sleep(0.5)  # tokens refill
    assert (await subscribe(comm, "MSFT"))["type"] == "subscribed"
    await comm.disconnect()


async def test_slow_client_conflates_and_never_delays_the_others(token, other_token, assets, monkeypatch, caplog):
    from personal_finance.realtime.consumers import PriceConsumer

    gate = asyncio.Event()
    original = PriceConsumer.send

    async def send(self, text_data=None, bytes_data=None, close=False):
        if b"slow=1" in self.scope["query_string"] and '"price"' in (text_data or ""):
            await gate.wait()  # a client that does not read: the socket write never completes
        await original(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(PriceConsumer, "send", send)
    slow = await connected("/ws/prices/", token=f"{token}&slow=1")
    fast = await connected("/ws/prices/", token=other_token)
    await subscribe(slow, "AAPL", "MSFT")
    await subscribe(fast, "AAPL")
    for price in ("101", "102", "103", "104", "105"):
        await publish("AAPL", price, previous_close=Decimal(100))
        # the fast client gets every price while the slow one is stuck
        assert (await fast.receive_json_from(timeout=5))["price"] == price
    await publish("MSFT", "50", previous_close=Decimal(100))
    assert await slow.receive_nothing(timeout=0.1)
    gate.set()
    received = [(await slow.receive_json_from(timeout=5)) for _ in range(3)]
    # the first price was being written; 102..104 were replaced by 105 in the outbox
    assert [(m["symbol"], m["price"]) for m in received] == [("AAPL", "101"), ("AAPL", "105"), ("MSFT", "50")]
    assert await slow.receive_nothing(timeout=0.1)
    assert tracker.counters["conflated"] == 3
    assert any(r.name == "channels.consumer" and "slow client" in r.getMessage() for r in caplog.records)
    await slow.disconnect()
    await fast.disconnect()


# -- portfolios --------------------------------------------------------------------------------
@pytest.fixture
def holding(user, assets):
    """100 AAPL bought 2024-01-02 plus 500 cash left, in USD."""
    from personal_finance.portfolios.tests.factories import PortfolioFactory, TransactionFactory

    portfolio = PortfolioFactory(owner=user)
    TransactionFactory(portfolio=portfolio, type="deposit", amount=Decimal("10500"), trade_date=dt.date(2024, 1, 2))
    TransactionFactory(
        portfolio=portfolio,
        type="buy",
        asset=assets["AAPL"],
        quantity=Decimal(100),
        price=Decimal(100),
        amount=Decimal(10000),
        trade_date=dt.date(2024, 1, 2),
    )
    return portfolio


async def test_portfolio_of_another_user_or_missing_is_closed_with_4403(other_token, holding):
    assert await close_code(communicator(f"/ws/portfolios/{holding.pk}/", token=other_token)) == 4403
    assert await close_code(communicator(f"/ws/portfolios/{holding.pk + 1000}/", token=other_token)) == 4403


async def test_portfolio_value_on_connect_and_on_each_price_of_a_holding(token, holding):
    comm = await connected(f"/ws/portfolios/{holding.pk}/", token=token)
    # today: 500 cash + 100 x 110 (the last close); no price of today yet, so no day change
    first = await comm.receive_json_from(timeout=5)
    assert {k: v for k, v in first.items() if k != "ts"} == {
        "type": "portfolio",
        "id": holding.pk,
        "value": "11500.00",
        "day_change": "0.00",
    }
    assert first["ts"].endswith("Z")
    assert tracker.snapshot()["portfolios"] == {str(holding.pk): 1}
    await publish("AAPL", "120.5")  # at TS, 2024-01-03: previous close 100 (2024-01-02)
    assert await comm.receive_json_from(timeout=5) == {
        "type": "portfolio",
        "id": holding.pk,
        "value": "12550.00",
        "day_change": "2050.00",
        "ts": "2024-01-03T15:04:05Z",
    }
    await publish("MSFT", "50")  # not held: no update
    assert await comm.receive_nothing(timeout=0.2)
    assert "no actions" in await error_of(comm, {"action": "subscribe", "symbols": ["AAPL"]})
    await comm.disconnect()
    assert tracker.snapshot()["portfolios"] == {}


# -- status ------------------------------------------------------------------------------------
async def test_status_counts_connections_and_subscriptions(token, other_token, assets):
    a = await connected("/ws/prices/", token=token)
    b = await connected("/ws/prices/", token=other_token)
    await subscribe(a, "AAPL", "MSFT")
    await subscribe(b, "AAPL")
    current = await sync_to_async(status)()
    assert current["mode"] == "in-process"
    assert current["connections"] == {"total": 2, "prices": 2}
    assert current["subscriptions"] == 3
    assert current["symbols"] == {"AAPL": 2, "MSFT": 1}
    await a.disconnect()
    await b.disconnect()
    current = await sync_to_async(status)()
    assert current["connections"] == {"total": 0}
    assert current["subscriptions"] == 0
