"""Benchmark: WebSocket fan-out through a real ASGI server and Redis (docs/benchmarks.md, Realtime).

1,000 concurrent WebSocket clients on loopback, each subscribed to one of 100 symbols (10 per
symbol), against uvicorn (a subprocess, full mode: PostgreSQL + channels-redis; prices go
through the settings' price layer, the bounded pub/sub layer unless ``REALTIME_PRICE_LAYER`` or
``CHANNEL_LAYER_BACKEND`` say otherwise; ``--workers N``;
``--ws`` implementation, per-message deflate off). The publisher sends 10 prices per second per
symbol for 60 seconds through the publishing service (``abroadcast_prices``: the event the
service builds, ``group_send`` to ``quotes.<SYMBOL>``), staggered in 10 ms slots. Reports
delivered over expected, publish-to-receive latency p50/p90/p99/max (the price of message n of a
symbol is 100 + n/1000, so each delivery is matched to its publish time in a side table: the
message stays exactly the docs/contracts.md §8 shape), the servers' counters (conflated, dropped), and the
CPU and memory of the server (per worker too), Redis, the client process(es) and the publisher.
The clients are a minimal asyncio WebSocket client (uvloop, RFC 6455 framing, answers pings, no
JSON decoding of prices), so they do not bound the measurement: about 10 us of CPU per received
message (9% of a core at 10,000 messages/s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pfp_rt_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/ws_load.py [--clients 1000] [--symbols 100] [--rate 10] [--seconds 60] \\
        [--workers 1] [--client-procs 1] [--json]

The scratch database (its name must contain "bench") is created when missing and migrated.
Traffic goes to 127.0.0.1 only. The whole run is bounded (``--timeout``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BASE_PRICE = 100


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Setup: scratch database, a user with a token, the symbols
# ---------------------------------------------------------------------------------------------
def setup(n_symbols: int) -> tuple[str, list[str]]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or "bench" not in urlsplit(url).path:
        sys.exit("DATABASE_URL must point at a PostgreSQL scratch database whose name contains 'bench'")
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL is required (the channel layer is channels-redis)")
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    sys.path.insert(0, str(REPO))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_DEBUG"] = "False"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from rest_framework.authtoken.models import Token

    from personal_finance.assets.models import Asset
    from personal_finance.users.models import User

    user, _ = User.objects.get_or_create(username="ws-bench")
    token, _ = Token.objects.get_or_create(user=user)
    symbols = [f"WSB{i:03d}" for i in range(n_symbols)]
    Asset.objects.bulk_create([Asset(symbol=s, name=f"bench {s}") for s in symbols], ignore_conflicts=True)
    return token.key, symbols


# ---------------------------------------------------------------------------------------------
# Clients: a minimal WebSocket client (asyncio protocol, RFC 6455 framing, no extensions), so the
# measurement is bounded by the server and not by client-side parsing. One process per slice of
# the connections. A price frame is not JSON-decoded: its "price" value is cut out of the text.
# ---------------------------------------------------------------------------------------------
HANDSHAKE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # any base64 of 16 bytes
PRICE_PREFIX = b'{"type": "price"'
PRICE_KEY = b'"price": "'


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: FIN, masked with a zero key (legal; XOR with zero leaves the payload)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    else:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


class Recorder:
    def __init__(self) -> None:
        self.sym: list[int] = []
        self.seq: list[int] = []
        self.t: list[float] = []
        self.other = 0
        self.compressed = 0  # frames received with permessage-deflate
        self.errors: list[str] = []
        self.connected = 0


class WSClient(asyncio.Protocol):
    def __init__(self, request: bytes, symbol_index: int, symbol: str, rec: Recorder, ready, done: asyncio.Future):
        self.request = request
        self.symbol_index = symbol_index
        self.subscribe = client_frame(1, json.dumps({"action": "subscribe", "symbols": [symbol]}).encode())
        self.rec = rec
        self.ready = ready
        self.done = done  # resolved when subscribed (or failed)
        self.buf = b""
        self.open = False
        self.transport = None
        self.inflater = None  # permessage-deflate, when negotiated (--deflate)

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"closed before subscribing: {exc}"))
        elif self.open:
            self.rec.errors.append(f"connection lost: {exc}")

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buf + data if self.buf else data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if b" 101 " not in buf[: buf.find(b"\r\n")]:
                self.done.set_exception(ConnectionError(buf[:80].decode(errors="replace")))
                self.transport.close()
                return
            self.open = True
            if b"permessage-deflate" in buf[:end].lower():
                import zlib

                self.inflater = zlib.decompressobj(-15)
            buf = buf[end + 4 :]
            self.transport.write(self.subscribe)
        rec, pos, n = self.rec, 0, len(buf)
        while n - pos >= 2:
            opcode = buf[pos] & 0x0F
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if n - pos < head + length:
                break
            payload = buf[pos + head : pos + head + length]
            pos += head + length
            if opcode == 1:
                if buf[pos - head - length] & 0x40 and self.inflater is not None:  # RSV1: compressed
                    payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
                    rec.compressed += 1
                if payload.startswith(PRICE_PREFIX):
                    i = payload.find(PRICE_KEY, 16) + len(PRICE_KEY)
                    price = float(payload[i : payload.find(b'"', i)])
                    rec.sym.append(self.symbol_index)
                    rec.seq.append(round((price - BASE_PRICE) * 1000))
                    rec.t.append(now)
                elif not self.done.done() and payload.startswith(b'{"type": "subscribed"'):
                    rec.connected += 1
                    with self.ready.get_lock():
                        self.ready.value += 1
                    self.done.set_result(True)
                else:
                    rec.other += 1
                    if not self.done.done():
                        self.done.set_exception(RuntimeError(f"subscribe failed: {payload[:120]!r}"))
            elif opcode == 9:  # ping: answer, or the server closes the connection
                self.transport.write(client_frame(10, payload))
            elif opcode == 8:
                rec.errors.append(f"closed by the server: {payload[:60]!r}")
                self.transport.close()
        self.buf = buf[pos:]


def client_process(port, token, assignments, ready, start_evt, stop_evt, results, max_connect, deflate) -> None:
    raise_fd_limit(65536)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results.put(asyncio.run(run_clients(port, token, assignments, ready, stop_evt, max_connect, deflate)))


async def run_clients(port, token, assignments, ready, stop_evt, max_connect, deflate=False):
    loop = asyncio.get_running_loop()
    request = (
        f"GET /ws/prices/?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n"
        + ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else "")
        + "\r\n"
    ).encode()
    rec = Recorder()
    gate = asyncio.Semaphore(max_connect)
    transports = []

    async def client(symbol_index: int, symbol: str):
        try:
            async with gate:
                done = loop.create_future()
                transport, _ = await loop.create_connection(
                    lambda: WSClient(request, symbol_index, symbol, rec, ready, done), "127.0.0.1", port
                )
                transports.append(transport)
                await asyncio.wait_for(done, 60)
        except Exception as exc:
            rec.errors.append(f"{type(exc).__name__}: {exc}"[:200])

    tasks = [asyncio.create_task(client(i, s)) for i, s in assignments]
    while not stop_evt.is_set():
        await asyncio.sleep(0.2)
    await asyncio.gather(*tasks, return_exceptions=True)
    for transport in transports:
        transport.close()
    import psutil

    cpu = psutil.Process().cpu_times()
    return {
        "sym": np.array(rec.sym, dtype=np.int32),
        "seq": np.array(rec.seq, dtype=np.int32),
        "t": np.array(rec.t, dtype=np.float64),
        "errors": rec.errors[:20],
        "n_errors": len(rec.errors),
        "other": rec.other,
        "compressed": rec.compressed,
        "connected": rec.connected,
        "cpu_s": cpu.user + cpu.system,
    }


# ---------------------------------------------------------------------------------------------
# Publisher: the publishing service's async broadcast, staggered in 10 ms slots
# ---------------------------------------------------------------------------------------------
async def publish(symbols: list[str], rate: float, seconds: float) -> tuple[np.ndarray, int]:
    import datetime as dt

    from personal_finance.realtime.messages import PriceUpdate
    from personal_finance.realtime.services import abroadcast_prices

    n = len(symbols)
    rounds = int(rate * seconds)
    slots = 10  # each round (1/rate s) is split into slots; each slot publishes n/slots symbols
    slot_len = 1.0 / rate / slots
    sent_at = np.full((n, rounds), np.nan)
    late = 0
    start = time.monotonic() + 0.5
    prev = Decimal(BASE_PRICE)
    for r in range(rounds):
        price = Decimal(BASE_PRICE) + Decimal(r) / 1000
        for slot in range(slots):
            due = start + (r * slots + slot) * slot_len
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -slot_len:
                late += 1
            chosen = list(range(slot, n, slots))
            now = dt.datetime.now(dt.UTC)
            updates = [PriceUpdate(symbols[i], price, now, prev) for i in chosen]
            t = time.time()
            sent_at[chosen, r] = t
            await abroadcast_prices(updates)
    return sent_at, late


# ---------------------------------------------------------------------------------------------
# Resource sampling of the server, Redis and the clients
# ---------------------------------------------------------------------------------------------
class Sampler:
    def __init__(self, pids: dict[str, list[int]]):
        import psutil

        self.procs = {k: [psutil.Process(p) for p in v] for k, v in pids.items()}
        self.cpu: dict[str, list[float]] = {k: [] for k in pids}
        self.rss: dict[str, list[float]] = {k: [] for k in pids}
        self.per_process: dict[str, list[float]] = {}
        self.known: dict = {}
        for key, procs in self.procs.items():
            for p in self._all(procs) if key == "server" else procs:
                p.cpu_percent(None)

    def _all(self, procs):
        """The processes and their children (uvicorn workers), the same psutil objects from one
        sample to the next (cpu_percent measures since the previous call on the same object)."""
        out = []
        for p in procs:
            out.append(p)
            with contextlib.suppress(Exception):
                for child in p.children(recursive=True):
                    out.append(self.known.setdefault(child.pid, child))
        return out

    def sample(self) -> None:
        for key, procs in self.procs.items():
            cpu = rss = 0.0
            for p in self._all(procs) if key == "server" else procs:  # uvicorn workers are children
                try:
                    c = p.cpu_percent(None)
                    cpu += c
                    rss += p.memory_info().rss
                    self.per_process.setdefault(f"{key}:{p.pid}", []).append(c)
                except Exception:
                    pass
            self.cpu[key].append(cpu)
            self.rss[key].append(rss / 2**20)

    def summary(self) -> dict:
        out = {}
        for key in self.procs:
            cpu = self.cpu[key][1:] or [0.0]  # the first interval includes setup
            out[key] = {
                "cpu_mean_pct": round(float(np.mean(cpu)), 1),
                "cpu_max_pct": round(float(np.max(cpu)), 1),
                "rss_max_mb": round(float(np.max(self.rss[key] or [0.0])), 1),
            }
        # per process (uvicorn workers, client processes): mean CPU % over the samples it was alive
        out["per_process_cpu_mean_pct"] = {
            k: round(float(np.mean(v[1:] or v)), 1) for k, v in self.per_process.items() if len(v) > 1
        }
        return out


def redis_pid(url: str) -> int | None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    except Exception:
        return None
    finally:
        client.close()


async def sample_during(sampler: Sampler, coro):
    task = asyncio.ensure_future(coro)
    while not task.done():
        await asyncio.sleep(1.0)
        sampler.sample()
    return await task


# ---------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="prices per second per symbol")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--server", choices=["uvicorn", "daphne"], default="uvicorn")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn --ws implementation")
    parser.add_argument("--loop", default="auto", help="uvicorn --loop (auto: uvloop when installed)")
    parser.add_argument(
        "--deflate", action="store_true", help="per-message deflate on the server and negotiated by the clients"
    )
    parser.add_argument("--client-procs", type=int, default=1, help="processes running the clients")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait for late deliveries")
    parser.add_argument("--timeout", type=float, default=600.0, help="hard bound on the whole run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    deadline = time.monotonic() + args.timeout
    fds = raise_fd_limit(max(4096, args.clients * 4 + 1024))
    token, symbols = setup(args.symbols)
    from django.conf import settings

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "False",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    if args.server == "uvicorn":
        cmd = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1"]
        cmd += ["--port", str(port), "--no-access-log", "--log-level", "warning", "--ws-max-queue", "256"]
        cmd += ["--ws", args.ws, "--ws-per-message-deflate", str(args.deflate).lower(), "--loop", args.loop]
        if args.workers > 1:
            cmd += ["--workers", str(args.workers)]
    else:
        cmd = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    log_path = Path(tempfile.mkdtemp(prefix="ws_bench_")) / "server.log"
    log = log_path.open("wb")
    server = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    procs: list[mp.Process] = []
    try:
        while True:
            if server.poll() is not None:
                sys.exit(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("server did not start")
                time.sleep(0.2)

        ctx = mp.get_context("spawn")
        ready = ctx.Value("i", 0)
        start_evt, stop_evt = ctx.Event(), ctx.Event()
        results = ctx.Queue()
        assignments = [(i % args.symbols, symbols[i % args.symbols]) for i in range(args.clients)]
        for k in range(args.client_procs):
            p = ctx.Process(
                target=client_process,
                args=(
                    port,
                    token,
                    assignments[k :: args.client_procs],
                    ready,
                    start_evt,
                    stop_evt,
                    results,
                    50,
                    args.deflate,
                ),
            )
            p.start()
            procs.append(p)
        t0 = time.monotonic()
        while ready.value < args.clients and time.monotonic() - t0 < 120 and time.monotonic() < deadline:
            time.sleep(0.2)
        connect_s = time.monotonic() - t0
        connected = ready.value

        from personal_finance.realtime.tracker import status

        time.sleep(2.5)  # one heartbeat of the server's status snapshot
        server_status = status()
        subscribers = np.bincount([i for i, _ in assignments], minlength=args.symbols)

        redis = redis_pid(settings.REDIS_URL)
        sampler = Sampler(
            {
                "server": [server.pid],
                "redis": [redis] if redis else [],
                "clients": [p.pid for p in procs],
                "publisher": [os.getpid()],  # this process: the publisher and the sampler
            }
        )
        started = time.monotonic()
        sent_at, late = asyncio.run(sample_during(sampler, publish(symbols, args.rate, args.seconds)))
        publish_s = time.monotonic() - started
        time.sleep(args.drain)
        stop_evt.set()
        parts = [results.get(timeout=max(10, deadline - time.monotonic())) for _ in procs]
        for p in procs:
            p.join(timeout=10)

        after = status()  # the servers' counters: conflated / dropped messages, layer drops
        sym = np.concatenate([r["sym"] for r in parts])
        seq = np.concatenate([r["seq"] for r in parts])
        t = np.concatenate([r["t"] for r in parts])
        ok = (seq >= 0) & (seq < sent_at.shape[1])
        lat_ms = (t[ok] - sent_at[sym[ok], seq[ok]]) * 1000
        published = int(np.isfinite(sent_at).sum())
        expected = int((np.isfinite(sent_at) * subscribers[:, None]).sum())
        delivered = int(ok.sum())
        pct = (lambda q: round(float(np.percentile(lat_ms, q)), 1)) if len(lat_ms) else (lambda q: None)
        report = {
            "clients": args.clients,
            "connected": connected,
            "connect_s": round(connect_s, 1),
            "symbols": args.symbols,
            "rate_per_symbol": args.rate,
            "seconds": args.seconds,
            "server": f"{args.server} x{args.workers} ({args.ws}, loop {args.loop}, deflate {args.deflate})"
            if args.server == "uvicorn"
            else "daphne",
            "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1],
            "price_layer": settings.CHANNEL_LAYERS.get("prices", settings.CHANNEL_LAYERS["default"])["BACKEND"].rsplit(
                ".", 1
            )[-1],
            "published": published,
            "publish_s": round(publish_s, 1),
            "publisher_late_slots": late,
            "expected": expected,
            "delivered": delivered,
            "delivered_pct": round(100 * delivered / expected, 3) if expected else None,
            "deliveries_per_s": round(delivered / publish_s, 0),
            "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": pct(100)},
            "status_seen": {
                "connections": server_status["connections"].get("total"),
                "subscriptions": server_status["subscriptions"],
            },
            "server_counters": after["counters"],
            "resources": sampler.summary(),
            "client_cpu_s": round(sum(r["cpu_s"] for r in parts), 1),
            "client_errors": sum(r["n_errors"] for r in parts),
            "client_compressed_frames": sum(r["compressed"] for r in parts),
            "client_error_samples": sorted({e for r in parts for e in r["errors"]})[:5],
            "fd_limit": fds,
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            lat = report["latency_ms"]
            res = report["resources"]
            print(
                f"{connected}/{args.clients} clients ({report['connect_s']} s to connect), {args.symbols} symbols, "
                f"{args.rate:g}/s/symbol for {args.seconds:g} s via {report['server']}\n"
                f"published {published}, delivered {delivered}/{expected} ({report['delivered_pct']}%), "
                f"{report['deliveries_per_s']:.0f} deliveries/s\n"
                f"latency p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['max']} ms\n"
                f"server CPU mean {res['server']['cpu_mean_pct']}% (max {res['server']['cpu_max_pct']}%), "
                f"RSS max {res['server']['rss_max_mb']} MB; redis CPU mean {res['redis']['cpu_mean_pct']}%; "
                f"clients CPU mean {res['clients']['cpu_mean_pct']}%\n"
                f"status endpoint saw {report['status_seen']}; client errors {report['client_errors']}; "
                f"publisher late slots {late}; load avg {report['load_avg_1m']} on {report['cpus']} CPUs"
            )
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


if __name__ == "__main__":
    main()
