"""``run_price_feed``: the live price feed process of the full mode (docs/realtime.md).

Live quotes of every subscribed or held symbol during its exchange's session, or the simulated
random walk offline (``--simulate``, or when the chain has no live provider or no network).
"""

from __future__ import annotations

import logging
import time

from personal_finance.contrib.commands import ContractCommand
from personal_finance.realtime.feed import MODES, PriceFeed
from personal_finance.realtime.tracker import conf, write_snapshot_sync

logger = logging.getLogger("personal_finance.realtime")


class Command(ContractCommand):
    help = "Publish live (or simulated) prices of every subscribed or held symbol at an interval."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, help="seconds between rounds (default REALTIME_FEED_INTERVAL)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--simulate", action="store_true", help="random walk from the last close, never stored")
        mode.add_argument("--live", action="store_true", help="live quotes only, even when no provider answers")
        parser.add_argument("--ticks", type=int, default=0, help="stop after this many rounds (default: run forever)")
        parser.add_argument("--once", action="store_true", help="one round, then a summary (same as --ticks 1)")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        mode = "simulate" if options["simulate"] else "live" if options["live"] else conf("FEED")
        if mode not in MODES:
            self.fail(f"REALTIME_FEED: unknown mode {mode!r}; use one of {', '.join(MODES)}")
        interval = options["interval"]
        if interval is not None and interval <= 0:
            self.fail("argument --interval: must be a positive number of seconds")
        ticks = 1 if options["once"] else options["ticks"]
        if ticks < 0:
            self.fail("argument --ticks: must be zero (forever) or positive")
        feed = PriceFeed(mode=mode, interval=interval)
        logger.info("price feed: %s mode, every %ss", feed.effective_mode(), feed.interval)
        report: dict = {}
        done = 0
        try:
            while True:
                started = time.monotonic()
                report = feed.tick()
                write_snapshot_sync(ttl=max(feed.interval * 3, 10))
                done += 1
                logger.info(
                    "price feed: %s, %d symbols, %d live, %d simulated, %d closed, %.0f ms",
                    report["mode"],
                    report["symbols"],
                    len(report["live"]),
                    len(report["simulated"]),
                    len(report["closed"]),
                    report["ms"],
                )
                if ticks and done >= ticks:
                    break
                time.sleep(max(0.0, feed.interval - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
        document = {"ticks": done, "published": feed.published, "last": report}
        self.emit(
            options,
            f"price feed: {done} round(s), {feed.published} price(s) published ({report.get('mode', feed.mode)})",
            document,
        )
