"""The per-process price hub: one group membership per symbol per process, fanned out into the
connections' outboxes (in-memory layer here; the Redis layers at the end, with REDIS_URL)."""

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest

from personal_finance.realtime.groups import quote_group
from personal_finance.realtime.hub import get_hub
from personal_finance.realtime.messages import PriceUpdate
from personal_finance.realtime.services import abroadcast_prices
from personal_finance.realtime.tracker import tracker

from .conftest import connected

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

TS = dt.datetime(2024, 1, 3, 15, 4, 5, tzinfo=dt.UTC)


@pytest.fixture
def holding_value(user, assets):
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


async def broadcast(symbol, *prices):
    """Publish each price in turn without waiting for any client (a burst)."""
    for price in prices:
        await abroadcast_prices([PriceUpdate(symbol, Decimal(price), TS, Decimal(100))], portfolios=False)


async def subscribe(comm, *symbols):
    await comm.send_json_to({"action": "subscribe", "symbols": list(symbols)})
    reply = await comm.receive_json_from(timeout=5)
    assert reply == {"type": "subscribed", "symbols": list(symbols)}


def group_members(layer, symbol):
    return set(layer.groups.get(quote_group(symbol), {}))


async def test_one_publish_reaches_many_local_connections_through_one_membership(token, assets):
    from channels.layers import get_channel_layer

    comms = [await connected("/ws/prices/", token=token) for _ in range(25)]
    for comm in comms:
        await subscribe(comm, "AAPL")
    hub = get_hub()
    layer = get_channel_layer()
    assert group_members(layer, "AAPL") == {hub.channel}  # one member for the process, not 25
    assert len(hub.subscribers["AAPL"]) == 25
    await broadcast("AAPL", "101.5")
    messages = [await comm.receive_json_from(timeout=5) for comm in comms]
    assert {m["price"] for m in messages} == {"101.5"}
    assert all(m == messages[0] for m in messages)  # the same text, serialised once
    assert set(messages[0]) == {"type", "symbol", "price", "change_pct", "ts"}
    for comm in comms:
        await comm.disconnect()
    assert group_members(layer, "AAPL") == set()
    assert hub.subscribers == {}
    assert hub.task is None  # idle: the hub stops receiving


async def test_a_burst_reaches_every_reading_client_in_order_while_a_slow_one_conflates(
    token, other_token, assets, monkeypatch
):
    from personal_finance.realtime.consumers import StreamConsumer

    gate = asyncio.Event()
    original = StreamConsumer.send

    async def send(self, text_data=None, bytes_data=None, close=False):
        if b"slow=1" in self.scope["query_string"] and '"price"' in (text_data or ""):
            await gate.wait()  # a client that does not read: the write never completes
        await original(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(StreamConsumer, "send", send)
    slow = await connected("/ws/prices/", token=f"{token}&slow=1")
    fast = [await connected("/ws/prices/", token=other_token) for _ in range(3)]
    for comm in (slow, *fast):
        await subscribe(comm, "MSFT")
    prices = [f"10{i}" for i in range(8)]
    await broadcast("MSFT", *prices)  # eight prices before any client runs
    for comm in fast:
        assert [(await comm.receive_json_from(timeout=5))["price"] for _ in prices] == prices
        assert await comm.receive_nothing(timeout=0.05)
    await broadcast("MSFT", "120", "121", "122")  # the slow client's writer is stuck now
    for comm in fast:
        assert [(await comm.receive_json_from(timeout=5))["price"] for _ in range(3)] == ["120", "121", "122"]
    gate.set()
    got = []
    while not await slow.receive_nothing(timeout=0.2):
        got.append((await slow.receive_json_from(timeout=5))["price"])
    # 100 was being written when the client stopped reading; what arrived meanwhile collapsed
    # into the newest unsent price (the fast clients, never blocked, got every one of them).
    assert (got[0], got[-1]) == ("100", "122")
    assert not {"120", "121"} & set(got)
    assert len(got) < 1 + len(prices) + 3
    assert tracker.counters["conflated"] >= 2
    for comm in (slow, *fast):
        await comm.disconnect()


async def test_unsubscribe_stops_delivery_and_the_last_one_leaves_the_group(token, other_token, assets):
    from channels.layers import get_channel_layer

    a = await connected("/ws/prices/", token=token)
    b = await connected("/ws/prices/", token=other_token)
    await subscribe(a, "AAPL", "MSFT")
    await subscribe(b, "AAPL")
    layer = get_channel_layer()
    hub = get_hub()
    await a.send_json_to({"action": "unsubscribe", "symbols": ["AAPL"]})
    assert (await a.receive_json_from(timeout=5))["type"] == "unsubscribed"
    assert group_members(layer, "AAPL") == {hub.channel}  # b still follows AAPL
    await broadcast("AAPL", "111")
    assert (await b.receive_json_from(timeout=5))["price"] == "111"
    assert await a.receive_nothing(timeout=0.1)
    await b.disconnect()  # the last local subscriber of AAPL
    assert group_members(layer, "AAPL") == set()
    assert group_members(layer, "MSFT") == {hub.channel}
    await broadcast("MSFT", "55")
    assert (await a.receive_json_from(timeout=5))["price"] == "55"
    await a.disconnect()
    assert hub.subscribers == {}
    assert hub.joined == set()


async def test_concurrent_subscribes_join_each_group_once(token, assets):
    comms = [await connected("/ws/prices/", token=token) for _ in range(10)]
    await asyncio.gather(*(subscribe(comm, "AAPL", "^GSPC") for comm in comms))
    hub = get_hub()
    assert hub.joined == {"AAPL", "^GSPC"}
    await asyncio.gather(*(comm.disconnect() for comm in comms))
    assert hub.joined == set()
    assert hub.subscribers == {}


async def test_the_hub_renews_its_memberships_without_prices(token, assets, monkeypatch):
    from channels.layers import get_channel_layer

    from personal_finance.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "REFRESH_SECONDS", 0.05)
    comm = await connected("/ws/prices/", token=token)
    await subscribe(comm, "AAPL")
    layer = get_channel_layer()
    hub = get_hub()
    joined_at = layer.groups[quote_group("AAPL")][hub.channel]
    await asyncio.sleep(0.2)  # no price published meanwhile
    assert layer.groups[quote_group("AAPL")][hub.channel] > joined_at
    await comm.disconnect()
    assert hub.refresher is None


async def test_prices_go_through_the_prices_alias_when_configured(realtime_settings, token, holding_value):
    """Full mode puts quotes.<SYMBOL> on the "prices" layer (bounded pub/sub) and keeps the
    portfolio streams on the default layer; a price still moves both."""
    from channels.layers import get_channel_layer

    realtime_settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
        "prices": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    }
    prices = await connected("/ws/prices/", token=token)
    await subscribe(prices, "AAPL")
    portfolio = await connected(f"/ws/portfolios/{holding_value.pk}/", token=token)
    assert (await portfolio.receive_json_from(timeout=5))["type"] == "portfolio"
    hub = get_hub()
    assert hub.layer is get_channel_layer("prices")
    assert quote_group("AAPL") in get_channel_layer("prices").groups
    assert quote_group("AAPL") not in get_channel_layer().groups
    await abroadcast_prices([PriceUpdate("AAPL", Decimal("120"), TS, Decimal(100))])
    assert (await prices.receive_json_from(timeout=5))["price"] == "120"
    assert (await portfolio.receive_json_from(timeout=5))["value"] == "12500.00"  # 500 cash + 100 x 120
    await prices.disconnect()
    await portfolio.disconnect()


@pytest.mark.parametrize("backend", ["channels_redis.core.RedisChannelLayer", "pubsub"])
async def test_the_hub_over_redis(redis_url, realtime_settings, token, assets, backend):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    hosts = [{"address": redis_url, "socket_timeout": 30}]
    if backend == "pubsub":
        backend = "personal_finance.realtime.layers.BoundedPubSubChannelLayer"
        config = {"hosts": hosts, "prefix": prefix, "capacity": 100}
    else:
        config = {"hosts": hosts, "prefix": prefix, "capacity": 100, "expiry": 10}
    realtime_settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": config}}
    realtime_settings.REALTIME = {**realtime_settings.REALTIME, "REDIS_PREFIX": f"{prefix}:rt:", "HEARTBEAT": 0.2}
    comms = [await connected("/ws/prices/", token=token) for _ in range(12)]
    for i, comm in enumerate(comms):
        await subscribe(comm, "EURUSD=X" if i % 2 else "AAPL")
    hub = get_hub()
    assert hub.joined == {"EURUSD=X", "AAPL"}
    await broadcast("EURUSD=X", "1.08", "1.09")
    await broadcast("AAPL", "150")
    for i, comm in enumerate(comms):
        if i % 2:
            got = [(await comm.receive_json_from(timeout=5))["price"] for _ in range(2)]
            assert got == ["1.08", "1.09"]
        else:
            assert (await comm.receive_json_from(timeout=5))["price"] == "150"
    await comms[1].send_json_to({"action": "unsubscribe", "symbols": ["EURUSD=X"]})
    assert (await comms[1].receive_json_from(timeout=5))["type"] == "unsubscribed"
    await broadcast("EURUSD=X", "1.1")
    for i, comm in enumerate(comms):
        if i % 2 and i != 1:
            assert (await comm.receive_json_from(timeout=5))["price"] == "1.1"
    assert await comms[1].receive_nothing(timeout=0.2)
    for comm in comms:
        await comm.disconnect()
    assert hub.joined == set()
