"""The gateway's webhook batching (gateway/hooks.py HookSender): a request goes at once when a
call is free, requests arriving meanwhile share the next call, each gets its own answer, and
one that waited out its deadline is refused instead of waiting on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway import hooks
from gateway.hooks import HookSender
from weftwork.connect.v1 import connect_service_pb2 as pb


class HeldConnect:
    """ReceiveWebhooks that answers each request with its source name, once released."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.release = asyncio.Event()

    async def ReceiveWebhooks(
        self, request: pb.ReceiveWebhooksRequest, **_: Any
    ) -> pb.ReceiveWebhooksResponse:
        self.calls.append([h.source for h in request.hooks])
        await self.release.wait()
        return pb.ReceiveWebhooksResponse(
            answers=[pb.ReceiveWebhookResponse(http_status=202, body=h.source.encode())
                     for h in request.hooks]
        )  # fmt: skip


def hook(name: str) -> pb.ReceiveWebhookRequest:
    return pb.ReceiveWebhookRequest(source=name, method="POST", body=b"{}")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_arriving_while_calls_are_in_flight_share_the_next_call() -> None:
    connect = HeldConnect()
    sender = HookSender(connect)  # type: ignore[arg-type]
    sent = [asyncio.create_task(sender.send(hook(f"s{i}"))) for i in range(7)]
    await settle()
    assert connect.calls == [["s0"], ["s1"]], "the first two go at once, one call each"
    connect.release.set()
    answers = await asyncio.gather(*sent)
    assert connect.calls == [["s0"], ["s1"], ["s2", "s3", "s4", "s5", "s6"]]
    assert [a.body.decode() for a in answers] == [f"s{i}" for i in range(7)]


async def test_a_request_that_waited_out_its_deadline_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hooks, "CONNECT_DEADLINE", 0.05)
    connect = HeldConnect()
    sender = HookSender(connect)  # type: ignore[arg-type]
    busy = [asyncio.create_task(sender.send(hook(f"busy{i}"))) for i in range(2)]
    late = asyncio.create_task(sender.send(hook("late")))
    await asyncio.sleep(0.1)  # both calls still held: "late" is past its deadline
    connect.release.set()
    assert [a.http_status for a in await asyncio.gather(*busy)] == [202, 202]
    with pytest.raises(TimeoutError):
        await late
    assert connect.calls == [["busy0"], ["busy1"]], "the late request was never sent"
