"""A Redis pub/sub channel layer with bounded per-channel buffers.

channels-redis' ``RedisChannelLayer`` delivers a group message to each member channel separately,
and a server process pops its messages one blocking round trip at a time: on loopback that caps
a process at roughly a thousand deliveries a second (docs/benchmarks.md, Realtime). Its pub/sub
layer publishes a group message once and fans it out inside each subscribed server process, but
buffers each channel in an unbounded queue. This subclass bounds those queues (``capacity``
messages per channel): when a consumer falls that far behind, its oldest message is dropped,
counted and logged; the reader and the other channels never wait.
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, _wrap_close

from .tracker import tracker

logger = logging.getLogger("personal_finance.realtime")


class DropOldestQueue(asyncio.Queue):
    """``put_nowait`` never raises and never waits: when full, the oldest message makes room."""

    last_log = 0.0

    def __init__(self, maxsize: int, channel: str):
        super().__init__(maxsize)
        self.channel = channel

    def put_nowait(self, item):
        if self.full():
            self.get_nowait()
            tracker.count("layer_dropped")
            now = time.monotonic()
            if now - DropOldestQueue.last_log >= 10:
                DropOldestQueue.last_log = now
                logger.warning(
                    "channel layer: %s is over capacity (%d); dropping its oldest messages", self.channel, self.maxsize
                )
        super().put_nowait(item)


class BoundedPubSubLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, capacity: int = 1000, **kwargs):
        super().__init__(*args, **kwargs)
        self.capacity = capacity

    async def _subscribe_to_channel(self, channel):
        self.channels[channel] = DropOldestQueue(self.capacity, channel)
        await self._get_shard(channel).subscribe(channel)


class BoundedPubSubChannelLayer(RedisPubSubChannelLayer):
    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = self._layers[loop] = BoundedPubSubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
            return layer
