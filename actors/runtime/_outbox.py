"""The outbox: what a handler publishes, held until the handler has finished."""

from __future__ import annotations

from typing import final

from messages import Envelope, Message


@final
class Outbox:
    """A publisher that only collects.

    The runtime hands one to each handler, then commits what it collected together with
    the ack of the handler's input, and only then delivers it. So a handler that crashes
    halfway has published nothing, and one that finished has published everything.
    """

    __slots__ = ("envelopes",)

    def __init__(self) -> None:
        self.envelopes: list[Envelope[Message]] = []

    async def publish(self, envelope: Envelope[Message]) -> None:
        self.envelopes.append(envelope)

    def publish_nowait(self, envelope: Envelope[Message]) -> None:
        self.envelopes.append(envelope)
