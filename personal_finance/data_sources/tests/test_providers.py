"""Providers and the chain, on recorded Yahoo responses (cassettes): no test touches the network."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from personal_finance.data_sources.base import ProviderDown, ProviderUnavailable, RateLimited, SymbolNotFound
from personal_finance.data_sources.cassette import CassetteMiss, RecordingClient, ReplayClient
from personal_finance.data_sources.chain import CircuitBreaker, ProviderChain, RateLimiter, backoff_delays
from personal_finance.data_sources.csv_provider import CSVProvider
from personal_finance.data_sources.models import ProviderState
from personal_finance.data_sources.sample import SampleProvider
from personal_finance.data_sources.yahoo import YahooProvider, _failures_from_log, classify

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
JAN = (dt.date(2024, 1, 2), dt.date(2024, 1, 10))


@pytest.fixture
def yahoo():
    return YahooProvider(client=ReplayClient(CASSETTES / "yahoo_basic.json"))


@pytest.fixture
def faulty():
    return YahooProvider(client=ReplayClient(CASSETTES / "yahoo_faults.json"))


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def test_batch_history_success(yahoo):
    result = yahoo.history(["AAPL", "MSFT"], *JAN)
    aapl, msft = result["AAPL"], result["MSFT"]
    assert list(aapl.bars.columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    assert len(aapl.bars) == 7
    assert aapl.bars.loc["2024-01-10", "Close"] == pytest.approx(186.19)
    assert msft.bars.index[0] == pd.Timestamp("2024-01-02")
    assert aapl.source == "yahoo"
    assert aapl.sample is False


def test_empty_history_is_not_an_error(yahoo):
    result = yahoo.history(["AAPL"], dt.date(2024, 1, 6), dt.date(2024, 1, 7))["AAPL"]
    assert result.bars.empty


def test_unknown_symbol_is_a_typed_non_transient_error(yahoo):
    error = yahoo.history(["NOSUCHSYMBOLX"], *JAN)["NOSUCHSYMBOLX"]
    assert isinstance(error, SymbolNotFound)
    assert error.transient is False


def test_rate_limit_and_malformed_payloads(faulty):
    limited = faulty.history(["AAPL"], *JAN)["AAPL"]
    assert isinstance(limited, RateLimited)
    assert limited.transient
    no_close = faulty.history(["MSFT"], *JAN)["MSFT"]
    assert isinstance(no_close, ProviderDown)
    assert "malformed" in str(no_close)
    bad_dates = faulty.history(["VTI"], *JAN)["VTI"]
    assert isinstance(bad_dates, ProviderDown)
    bad_quote = faulty.latest_quotes(["AAPL"])["AAPL"]
    assert isinstance(bad_quote, ProviderDown)


def test_quotes_info_splits_and_fx(yahoo):
    quote = yahoo.latest_quotes(["AAPL"])["AAPL"]
    assert quote.price == Decimal("186.19")
    assert quote.change_pct.quantize(Decimal("0.0001")) == Decimal("0.5671")
    assert isinstance(yahoo.latest_quotes(["NOSUCHSYMBOLX"])["NOSUCHSYMBOLX"], SymbolNotFound)
    info = yahoo.asset_info("AAPL")
    assert (info.name, info.asset_class, info.exchange) == ("Apple Inc.", "equity", "NMS")
    actions = yahoo.corporate_actions("NVDA", dt.date(2024, 6, 5), dt.date(2024, 6, 12))
    assert actions.splits.to_dict() == {pd.Timestamp("2024-06-10"): 10.0}
    fx = yahoo.fx_rates("EUR", "USD", dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    assert fx.iloc[0] == pytest.approx(1.1043)


def test_unrecorded_calls_never_reach_the_network(yahoo):
    with pytest.raises(CassetteMiss):
        yahoo.history(["TSLA"], *JAN)


def test_recording_client_writes_a_replayable_cassette(tmp_path):
    recorder = RecordingClient(ReplayClient(CASSETTES / "yahoo_basic.json"))
    recorder.download(["AAPL", "MSFT"], *JAN)
    recorder.quote("AAPL")
    recorder.save(tmp_path / "c.json")
    replay = YahooProvider(client=ReplayClient(tmp_path / "c.json"))
    assert len(replay.history(["AAPL", "MSFT"], *JAN)["MSFT"].bars) == 7
    assert json.loads((tmp_path / "c.json").read_text())["calls"][1]["method"] == "quote"


def test_yfinance_log_lines_are_classified():
    failures = _failures_from_log(
        [
            "\n2 Failed downloads:\n['AAPL', 'MSFT']: DNSError('Could not resolve host: query2.finance.yahoo.com')",
            "Failed to get ticker 'ZZZ' reason: Too Many Requests",
        ]
    )
    assert set(failures) == {"AAPL", "MSFT", "ZZZ"}
    assert isinstance(classify("yahoo", "AAPL", failures["AAPL"]), ProviderDown)
    assert isinstance(classify("yahoo", "ZZZ", failures["ZZZ"]), RateLimited)
    assert isinstance(classify("yahoo", "X", "possibly delisted; no timezone found"), SymbolNotFound)


@pytest.mark.django_db
def test_outage_in_the_middle_of_a_batch_loses_nothing(faulty):
    sleeps = Sleeps()
    chain = ProviderChain([faulty, SampleProvider()], retries=0, sleep=sleeps, rate=0)
    result = chain.history(["AAPL", "MSFT", "NVDA"], *JAN)
    assert result["AAPL"].source == "yahoo"
    assert result["MSFT"].source == "sample"
    assert result["NVDA"].source == "sample"
    assert result["MSFT"].sample is True
    assert ProviderState.objects.get(name="yahoo").state == "closed"  # AAPL succeeded


@pytest.mark.django_db
def test_rate_limited_provider_is_retried_with_backoff_then_skipped(faulty):
    sleeps = Sleeps()
    chain = ProviderChain(
        [faulty, SampleProvider()], retries=2, backoff_base=1.0, sleep=sleeps, threshold=2, cooldown=60, rate=0
    )
    result = chain.history(["AAPL"], *JAN)
    assert result["AAPL"].source == "sample"
    assert len(sleeps) == 2  # two retries before falling back
    assert all(0 <= s <= 1.0 * 2**i for i, s in enumerate(sleeps))
    state = ProviderState.objects.get(name="yahoo")
    assert state.consecutive_failures == 1
    assert "rate limited" in state.last_error
    chain.history(["AAPL"], *JAN)
    state.refresh_from_db()
    assert state.state == "open"
    sleeps.clear()
    result = chain.history(["AAPL"], *JAN)  # yahoo skipped: no retries, straight to sample
    assert result["AAPL"].source == "sample"
    assert sleeps == []


@pytest.mark.django_db
def test_unknown_everywhere_is_symbol_not_found_and_down_everywhere_is_unavailable(yahoo, faulty):
    chain = ProviderChain([yahoo, SampleProvider()], retries=0, sleep=Sleeps(), rate=0)
    assert isinstance(chain.history(["NOSUCHSYMBOLX"], *JAN)["NOSUCHSYMBOLX"], SymbolNotFound)
    chain = ProviderChain([faulty], retries=0, sleep=Sleeps(), rate=0)
    assert isinstance(chain.history(["AAPL"], *JAN)["AAPL"], ProviderUnavailable)


@pytest.mark.django_db
def test_circuit_breaker_opens_half_opens_and_closes():
    breaker = CircuitBreaker("p", threshold=2, cooldown=60)
    assert breaker.allow()
    breaker.failure(ProviderDown("x"))
    assert breaker.allow()
    breaker.failure(ProviderDown("y"))
    assert not breaker.allow()
    ProviderState.objects.filter(name="p").update(open_until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert breaker.allow()  # cool-down over: one trial
    assert ProviderState.objects.get(name="p").state == "half_open"
    breaker.failure(ProviderDown("z"))  # the trial failed: open again at once
    assert ProviderState.objects.get(name="p").state == "open"
    ProviderState.objects.filter(name="p").update(open_until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert breaker.allow()
    breaker.success()
    state = ProviderState.objects.get(name="p")
    assert (state.state, state.consecutive_failures) == ("closed", 0)
    assert state.last_success_at is not None


def test_rate_limiter_spaces_calls():
    now = [0.0]
    sleeps = Sleeps()

    def sleep(s):
        sleeps.append(s)
        now[0] += s

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.acquire()
    assert sleeps == pytest.approx([0.5, 0.5, 0.5, 0.5])


def test_backoff_has_exponential_caps_and_jitter():
    import random

    delays = backoff_delays(5, 1.0, 8.0, rng=random.Random(1))
    assert all(0 <= d <= c for d, c in zip(delays, [1, 2, 4, 8, 8], strict=True))
    assert len(set(delays)) == 5


def test_csv_provider(tmp_path):
    (tmp_path / "ABC.csv").write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1.5,2,1,1.75\n")
    (tmp_path / "BAD.csv").write_text("Date,Open,High,Low\n2024-01-02,1,2,0.5\n")
    provider = CSVProvider(tmp_path)
    result = provider.history(["ABC", "BAD", "NONE"], dt.date(2024, 1, 3))
    assert list(result["ABC"].bars["Close"]) == [1.75]
    assert isinstance(result["BAD"], ProviderDown)
    assert isinstance(result["NONE"], SymbolNotFound)
    assert provider.latest_quotes(["ABC"])["ABC"].price == Decimal("1.75")


def test_sample_provider_is_deterministic_and_labelled():
    provider = SampleProvider()
    a = provider.history(["AAPL"], dt.date(2023, 1, 2), dt.date(2023, 3, 1))["AAPL"]
    b = provider.history(["AAPL"], dt.date(2023, 1, 2), dt.date(2023, 6, 1))["AAPL"]
    assert a.sample is True
    pd.testing.assert_frame_equal(a.bars, b.bars.loc[: a.bars.index[-1]])
    nvda = provider.history(["NVDA"], dt.date(2024, 6, 6), dt.date(2024, 6, 11))["NVDA"].bars
    assert nvda["Close"].iloc[0] / nvda["Close"].iloc[-1] > 5  # traded prices before the 10:1 split
    assert isinstance(provider.history(["ZZZ"], dt.date(2024, 1, 2))["ZZZ"], SymbolNotFound)
    rates = provider.fx_rates("USD", "EUR", dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    direct = provider.fx_rates("EUR", "USD", dt.date(2024, 1, 2), dt.date(2024, 1, 5))
    assert (rates * direct).round(4).eq(1).all()
