"""The gateway runs at most N GraphQL requests at once and refuses none of the rest."""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send

from gateway.limits import BoundedConcurrency


async def test_requests_over_the_limit_wait_their_turn_and_all_are_answered() -> None:
    running, most, answered = 0, 0, 0
    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal running, most, answered
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1
        answered += 1

    bounded = BoundedConcurrency(slow, limit=2)

    async def nothing() -> dict[str, object]:
        return {}

    async def ignore(_: object) -> None:
        return None

    requests = [asyncio.create_task(bounded({"type": "http"}, nothing, ignore)) for _ in range(5)]
    websocket = asyncio.create_task(bounded({"type": "websocket"}, nothing, ignore))
    for _ in range(20):  # let every task reach the semaphore or the app
        await asyncio.sleep(0)
    assert running == 3  # two requests and the uncounted subscription
    release.set()
    await asyncio.gather(*requests, websocket)
    assert answered == 6
    assert most == 3
