"""Group names, the publishing service and its callers, the feed, the commands, the status API."""

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from personal_finance.assets.models import PriceBar
from personal_finance.data_sources.base import PriceProvider, Quote
from personal_finance.data_sources.chain import ProviderChain
from personal_finance.portfolios.tests.factories import AssetFactory, PortfolioFactory, TransactionFactory
from personal_finance.realtime import services
from personal_finance.realtime.feed import PriceFeed, is_trading
from personal_finance.realtime.groups import InvalidSymbol, quote_group
from personal_finance.realtime.messages import PriceUpdate, portfolio_message, price_message
from personal_finance.realtime.selectors import portfolio_live_value
from personal_finance.realtime.services import publish_price
from personal_finance.realtime.tracker import tracker

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Broadcasts, recorded instead of sent."""
    calls: list[list[PriceUpdate]] = []
    monkeypatch.setattr(services, "broadcast_prices", calls.append)
    return calls


# -- groups ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("symbol", "group"),
    [
        ("AAPL", "quotes.AAPL"),
        ("brk-b", "quotes.BRK-B"),
        ("^GSPC", "quotes._CGSPC"),
        ("EURUSD=X", "quotes.EURUSD_EX"),
        ("SAP.DE", "quotes.SAP.DE"),
        ("BTC-USD", "quotes.BTC-USD"),
    ],
)
def test_quote_groups_are_valid_channel_names(symbol, group):
    from channels.layers import BaseChannelLayer

    assert quote_group(symbol) == group
    assert BaseChannelLayer().require_valid_group_name(group)


def test_quote_groups_are_unique_and_short():
    symbols = ["^A", "_CA", "A=", "A_E", "A^", "AE", "A.E", "A-E", "A=X", "A^X"]
    valid = []
    for s in symbols:
        try:
            valid.append((s, quote_group(s)))
        except InvalidSymbol:
            assert "_" in s  # "_" is not a symbol character, so escapes cannot collide
    assert len({g for _, g in valid}) == len(valid)
    assert len(quote_group("^" * 32)) < 100


@pytest.mark.parametrize("bad", ["", "A B", "a" * 33, "AAPL;", "€", "_X"])
def test_bad_symbols_are_refused(bad):
    with pytest.raises(InvalidSymbol):
        quote_group(bad)


# -- publishing --------------------------------------------------------------------------------
def test_price_message_shape():
    ts = dt.datetime(2026, 11, 26, 15, 4, 5, 123, tzinfo=dt.UTC)
    update = PriceUpdate("AAPL", Decimal("187.23000000"), ts, Decimal("186.47"))
    assert price_message(update) == {
        "type": "price",
        "symbol": "AAPL",
        "price": "187.23",
        "change_pct": "0.41",
        "ts": "2026-11-26T15:04:05Z",
    }
    assert price_message(PriceUpdate("X", Decimal("1E+2"), ts, None, simulated=True))["price"] == "100"
    assert price_message(PriceUpdate("X", Decimal("100"), ts, None, simulated=True))["change_pct"] is None
    assert price_message(PriceUpdate("X", Decimal(1), ts, None, simulated=True))["simulated"] is True


def test_publish_waits_for_the_commit(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publish_price(symbol="aapl", price=Decimal("1.5"))
    assert sent == []  # not before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert [(u.symbol, u.price) for u in sent[0]] == [("AAPL", Decimal("1.5"))]


class FixedQuotes(PriceProvider):
    name = "fixed"

    def __init__(self, prices):
        self.prices = prices

    def latest_quotes(self, symbols):
        ts = dt.datetime(2024, 1, 3, 15, 0, tzinfo=dt.UTC)
        return {s: Quote(s, Decimal(self.prices[s]), Decimal(100), ts, source=self.name) for s in symbols}

    def history(self, symbols, start, end=None):
        raise NotImplementedError

    def asset_info(self, symbol):
        raise NotImplementedError


def test_update_latest_quotes_publishes_each_new_stored_quote(sent, assets, django_capture_on_commit_callbacks):
    from personal_finance.data_sources.services import update_latest_quotes

    chain = ProviderChain([FixedQuotes({"AAPL": "111", "MSFT": "100"})], retries=0)
    with django_capture_on_commit_callbacks(execute=True):
        update_latest_quotes(symbols=["AAPL", "MSFT"], chain=chain)
    published = {u.symbol: u for batch in sent for u in batch}
    # AAPL changed its 2024-01-03 bar (110 -> 111); MSFT got a new bar of the day
    assert set(published) == {"AAPL", "MSFT"}
    assert published["AAPL"].price == Decimal(111)
    assert published["AAPL"].previous_close == Decimal(100)
    assert PriceBar.objects.get(asset__symbol="AAPL", date=dt.date(2024, 1, 3)).close == Decimal(111)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        update_latest_quotes(symbols=["AAPL", "MSFT"], chain=chain)
    assert sent == []  # unchanged quotes are not published again


# -- publish_price command ---------------------------------------------------------------------
def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_publish_price_command_stores_the_bar_and_publishes(sent, assets, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        doc = json.loads(run("publish_price", "aapl", "121.5", "--ts", "2024-01-03T16:00:00Z", "--json"))
    assert doc == {
        "stored": {"symbol": "AAPL", "date": "2024-01-03", "created": False},
        "published": {
            "type": "price",
            "symbol": "AAPL",
            "price": "121.5",
            "change_pct": "21.50",
            "ts": "2024-01-03T16:00:00Z",
        },
    }
    assert PriceBar.objects.get(asset__symbol="AAPL", date=dt.date(2024, 1, 3)).close == Decimal("121.5")
    assert [u.symbol for u in sent[0]] == ["AAPL"]
    line = run("publish_price", "MSFT", "99", "--ts", "2024-01-03T16:00:00")
    assert line.strip() == "MSFT 99 (-1.00%): stored as the 2024-01-03 bar and published"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["AAPL", "abc"], "is not a decimal number"),
        (["AAPL", "-1"], "must be a positive number"),
        (["AAPL", "NaN"], "must be a positive number"),
        (["AAPL", "1.123456789"], "more than 8 decimal places"),
        (["AA PL", "1"], "invalid symbol"),
        (["NOPE", "1"], "unknown symbol NOPE"),
        (["AAPL", "1", "--ts", "yesterday"], "not an ISO timestamp"),
    ],
)
def test_publish_price_command_bad_input_exits_2(sent, assets, args, message):
    before = PriceBar.objects.count()
    with pytest.raises(CommandError, match=message) as exc:
        run("publish_price", *args)
    assert exc.value.returncode == 2
    assert PriceBar.objects.count() == before
    assert sent == []


def test_publish_price_create(sent, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        doc = json.loads(run("publish_price", "NEWCO", "10", "--create", "--json"))
    assert doc["stored"]["created"] is True
    assert doc["published"]["change_pct"] is None


def test_import_prices_publishes_a_recent_latest_bar(sent, db, tmp_path, django_capture_on_commit_callbacks):
    today = dt.date.today()
    yesterday = today - dt.timedelta(days=1)
    path = tmp_path / "p.csv"
    path.write_text(f"Date,Open,High,Low,Close\n{yesterday},1,2,1,1.2\n{today},1,2,1,1.5\n")
    with django_capture_on_commit_callbacks(execute=True):
        run("import_prices", str(path), "--symbol", "CSVCO")
    [[update]] = sent
    assert (update.symbol, update.price, update.ts.date()) == ("CSVCO", Decimal("1.5"), today)


def test_import_prices_of_old_history_publishes_nothing(sent, db, tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "p.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,1,1.2\n2024-01-03,1,2,1,1.5\n")
    with django_capture_on_commit_callbacks(execute=True):
        run("import_prices", str(path), "--symbol", "CSVOLD")
    assert sent == []


# -- broadcast ---------------------------------------------------------------------------------
def test_portfolio_values_use_a_bounded_number_of_queries(user, assets, django_assert_max_num_queries):
    portfolio = PortfolioFactory(owner=user)
    TransactionFactory(portfolio=portfolio, type="deposit", amount=Decimal("100000"))
    for i in range(20):
        asset = AssetFactory(symbol=f"Q{i}")
        PriceBar.objects.create(asset=asset, date=dt.date(2024, 1, 2), close=Decimal(10))
        TransactionFactory(
            portfolio=portfolio, type="buy", asset=asset, quantity=Decimal(1), price=Decimal(10), amount=Decimal(10)
        )
    with django_assert_max_num_queries(3):
        message = portfolio_message(
            portfolio_live_value(
                portfolio=portfolio, overrides={"Q0": Decimal(20)}, ts=dt.datetime(2024, 1, 3, tzinfo=dt.UTC)
            )
        )
    assert message["value"] == str(Decimal("100000") - 200 + 19 * 10 + 20) + ".00"
    assert message["day_change"] == "10.00"


def test_broadcast_skips_portfolios_when_none_is_watched(assets, django_assert_num_queries):
    ts = dt.datetime(2024, 1, 3, tzinfo=dt.UTC)
    with django_assert_num_queries(0):
        assert services.portfolio_messages([PriceUpdate("AAPL", Decimal(1), ts)]) == []


# -- feed ----------------------------------------------------------------------------------------
def test_simulated_feed_walks_from_the_last_close_and_stores_nothing(sent, assets, holding_msft):
    tracker.subscribe(["AAPL"])
    feed = PriceFeed(mode="simulate", step_pct=1.0, now=lambda: dt.datetime(2024, 1, 3, 15, 0, tzinfo=dt.UTC))
    bars = PriceBar.objects.count()
    report = feed.tick()
    assert report["mode"] == "simulate"
    assert sorted(report["simulated"]) == ["AAPL", "MSFT"]  # subscribed + held
    updates = {u.symbol: u for u in sent[0]}
    assert all(u.simulated for u in updates.values())
    assert Decimal("104.5") < updates["AAPL"].price < Decimal("115.5")  # one 1% step from the 110 close
    assert updates["AAPL"].previous_close == Decimal(100)  # the close before the day
    assert PriceBar.objects.count() == bars
    feed.tick()  # the walk goes on from its own last price
    assert len(sent) == 2
    assert feed.walk["AAPL"][0] == {u.symbol: u for u in sent[1]}["AAPL"].price


def test_auto_feed_simulates_when_the_chain_has_no_live_provider(sent, assets, settings):
    settings.MARKET_DATA = {**settings.MARKET_DATA, "PROVIDERS": ["csv", "sample"]}
    tracker.subscribe(["MSFT"])
    assert PriceFeed(mode="auto").tick()["simulated"] == ["MSFT"]


def test_live_feed_polls_symbols_in_session_only(sent, assets, django_capture_on_commit_callbacks):
    chain = ProviderChain([FixedQuotes({"AAPL": "112", "MSFT": "101", "EURUSD=X": "1.1"})], retries=0)
    tracker.subscribe(["AAPL", "EURUSD=X"])
    saturday = dt.datetime(2024, 1, 6, 15, 0, tzinfo=dt.UTC)
    report = PriceFeed(mode="live", chain=chain, now=lambda: saturday).tick()
    assert report["live"] == []
    assert sorted(report["closed"]) == ["AAPL", "EURUSD=X"]
    wednesday = dt.datetime(2024, 1, 3, 15, 0, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        report = PriceFeed(mode="live", chain=chain, now=lambda: wednesday).tick()
    assert report["live"] == ["AAPL", "EURUSD=X"]
    assert {u.symbol for batch in sent for u in batch} == {"AAPL", "EURUSD=X"}
    assert not any(u.simulated for batch in sent for u in batch)


def test_trading_hours():
    assert is_trading("XNYS", dt.datetime(2024, 1, 3, 15, 0, tzinfo=dt.UTC))
    assert not is_trading("XNYS", dt.datetime(2024, 1, 3, 22, 0, tzinfo=dt.UTC))
    assert is_trading("XETR", dt.datetime(2024, 1, 3, 9, 0, tzinfo=dt.UTC))
    assert is_trading(None, dt.datetime(2024, 1, 6, 3, 0, tzinfo=dt.UTC))


def test_run_price_feed_command_once(sent, assets):
    tracker.subscribe(["AAPL"])
    doc = json.loads(run("run_price_feed", "--once", "--simulate", "--json"))
    assert doc["ticks"] == 1
    assert doc["published"] == 1
    assert doc["last"]["simulated"] == ["AAPL"]
    with pytest.raises(CommandError) as exc:
        run("run_price_feed", "--once", "--interval", "0")
    assert exc.value.returncode == 2


@pytest.fixture
def holding_msft(user, assets):
    portfolio = PortfolioFactory(owner=user)
    TransactionFactory(
        portfolio=portfolio, type="buy", asset=assets["MSFT"], quantity=Decimal(1), price=Decimal(1), amount=Decimal(1)
    )
    return portfolio


# -- status endpoint -----------------------------------------------------------------------------
def test_status_endpoint_is_staff_only(api_client, auth_client, user, db):
    from personal_finance.users.tests.factories import UserFactory

    url = "/api/realtime/status/"
    assert api_client.get(url).status_code == 401
    for method in ("get", "post", "put", "patch", "delete"):
        assert getattr(auth_client, method)(url).status_code == 403, method
    staff = UserFactory(is_staff=True)
    api_client.force_authenticate(staff)
    tracker.connect("prices")
    tracker.subscribe(["AAPL"])
    body = api_client.get(url).json()
    assert body["connections"] == {"total": 1, "prices": 1}
    assert body["symbols"] == {"AAPL": 1}
    assert body["mode"] == "in-process"
    assert api_client.post(url).status_code == 405


# -- bounded pub/sub layer -----------------------------------------------------------------------
def test_pubsub_channel_buffers_drop_their_oldest_message_when_full(caplog):
    from personal_finance.realtime.layers import DropOldestQueue

    queue = DropOldestQueue(2, "specific.x")
    for n in range(5):
        queue.put_nowait(n)
    assert [queue.get_nowait() for _ in range(queue.qsize())] == [3, 4]
    assert tracker.counters["layer_dropped"] == 3
    assert any("over capacity" in r.getMessage() for r in caplog.records if r.name == "personal_finance.realtime")


def test_redis_layers_are_recognised(settings):
    from personal_finance.realtime.tracker import redis_url

    for backend in (
        "channels_redis.core.RedisChannelLayer",
        "personal_finance.realtime.layers.BoundedPubSubChannelLayer",
    ):
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": backend, "CONFIG": {"hosts": [{"address": "redis://h:1/0"}]}}
        }
        assert redis_url() == "redis://h:1/0"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert redis_url() is None
