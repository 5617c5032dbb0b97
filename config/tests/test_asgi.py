import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_websocket_from_foreign_origin_is_rejected():
    communicator = WebsocketCommunicator(application, "/ws/prices/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()
