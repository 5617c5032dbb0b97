"""Full mode: the same flow over a real channels-redis layer, and a real ASGI server (uvicorn, a
subprocess) whose client receives a price published by the ``publish_price`` command (another
subprocess). Both need REDIS_URL; the server test also needs PostgreSQL (a shared database)."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from personal_finance.realtime.services import publish_price
from personal_finance.realtime.tracker import PROCESS_ID, status, subscribed_symbols, tracker

from .conftest import connected

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def redis_layer(redis_url, realtime_settings):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    realtime_settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": redis_url, "socket_timeout": 30}],
                "capacity": 100,
                "expiry": 10,
                "prefix": prefix,
            },
        }
    }
    realtime_settings.REALTIME = {**realtime_settings.REALTIME, "REDIS_PREFIX": f"{prefix}:rt:", "HEARTBEAT": 0.2}
    return redis_url


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_subscribe_and_publish_over_redis(redis_layer, token, assets):
    comm = await connected("/ws/prices/", token=token)
    await comm.send_json_to({"action": "subscribe", "symbols": ["AAPL", "^GSPC"]})
    assert (await comm.receive_json_from(timeout=5))["type"] == "subscribed"
    await sync_to_async(publish_price)(symbol="^GSPC", price=Decimal("4700.25"), previous_close=Decimal(4700))
    message = await comm.receive_json_from(timeout=5)
    assert (message["symbol"], message["price"], message["change_pct"]) == ("^GSPC", "4700.25", "0.01")
    current = await sync_to_async(status)()
    assert current["mode"] == "redis"
    assert current["symbols"] == {"AAPL": 1, "^GSPC": 1}
    await comm.disconnect()


@pytest.mark.django_db
def test_status_and_symbols_union_live_process_snapshots(redis_layer):
    import redis

    client = redis.Redis.from_url(redis_layer)

    from personal_finance.realtime.tracker import conf

    prefix = conf("REDIS_PREFIX")
    other = {
        "process": "elsewhere:1",
        "connections": {"prices": 3},
        "symbols": {"MSFT": 2, "AAPL": 1},
        "portfolios": {"7": 1},
        "counters": {"dropped": 5},
        "feed": {},
        "at": time.time(),
    }
    client.set(f"{prefix}proc:elsewhere:1", json.dumps(other), px=1000)
    client.set(f"{prefix}proc:{PROCESS_ID}", json.dumps({**other, "symbols": {"STALE": 1}}), px=1000)
    tracker.connect("prices")
    tracker.subscribe(["AAPL"])
    try:
        current = status()
        assert current["connections"] == {"total": 4, "prices": 4}
        assert current["symbols"] == {"AAPL": 2, "MSFT": 2}  # this process's own key is read in memory
        assert current["portfolios_watched"] == 1
        assert current["counters"]["dropped"] == 5
        assert subscribed_symbols() == {"AAPL", "MSFT"}
        time.sleep(1.1)  # a process that stops refreshing its snapshot drops out
        assert subscribed_symbols() == {"AAPL"}
    finally:
        client.delete(f"{prefix}proc:elsewhere:1", f"{prefix}proc:{PROCESS_ID}")
        client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _subprocess_env(redis_url: str) -> dict:
    from django.db import connection

    db = connection.settings_dict
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("the server subprocess needs the test database shared: PostgreSQL (DATABASE_URL)")
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_server_delivers_a_price_published_by_the_command(redis_url, user, tmp_path):
    from rest_framework.authtoken.models import Token
    from websockets.sync.client import connect

    from personal_finance.portfolios.tests.factories import AssetFactory

    env = _subprocess_env(redis_url)
    symbol = f"LIVE{os.getpid()}"
    AssetFactory(symbol=symbol)
    key = Token.objects.create(user=user).key
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"server did not start: {log.read_text()[-3000:]}"
                time.sleep(0.2)
        uri = f"ws://127.0.0.1:{port}/ws/prices/?token={key}"
        with connect(uri, origin=f"http://127.0.0.1:{port}", open_timeout=10) as ws:
            ws.send(json.dumps({"action": "subscribe", "symbols": [symbol]}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "subscribed", "symbols": [symbol]}
            done = subprocess.run(
                [sys.executable, "manage.py", "publish_price", symbol, "123.45", "--json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["published"]["price"] == "123.45"
            message = json.loads(ws.recv(timeout=10))
            assert message["type"] == "price"
            assert (message["symbol"], message["price"]) == (symbol, "123.45")
            assert message["ts"].endswith("Z")
        # anonymous: the close code reaches a real client
        with connect(f"ws://127.0.0.1:{port}/ws/prices/", origin=f"http://127.0.0.1:{port}") as ws:
            with pytest.raises(Exception) as closed:
                ws.recv(timeout=10)
            assert ws.close_code == 4401, closed.value
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_subscribe_and_publish_over_the_bounded_pubsub_layer(redis_layer, realtime_settings, token, assets):
    config = realtime_settings.CHANNEL_LAYERS["default"]["CONFIG"]
    realtime_settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "personal_finance.realtime.layers.BoundedPubSubChannelLayer",
            "CONFIG": {"hosts": config["hosts"], "prefix": config["prefix"], "capacity": 10},
        }
    }
    a = await connected("/ws/prices/", token=token)
    b = await connected("/ws/prices/", token=token)
    for comm in (a, b):
        await comm.send_json_to({"action": "subscribe", "symbols": ["EURUSD=X"]})
        assert (await comm.receive_json_from(timeout=5))["type"] == "subscribed"
    await sync_to_async(publish_price)(symbol="EURUSD=X", price=Decimal("1.08"), previous_close=Decimal("1.08"))
    for comm in (a, b):
        message = await comm.receive_json_from(timeout=5)
        assert (message["symbol"], message["price"], message["change_pct"]) == ("EURUSD=X", "1.08", "0.00")
    await a.disconnect()
    await b.disconnect()
