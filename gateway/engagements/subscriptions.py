"""engagementEvents(id): an engagement's lifecycle events over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from gateway.context import Info
from gateway.engagements.timeline import LifecycleEvent, live_events
from gateway.errors import NotFound


@strawberry.type
class EngagementSubscriptions:
    @strawberry.subscription
    async def engagement_events(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[LifecycleEvent, None]:
        engagement = await info.context.loaders.engagements.load(str(id))
        if engagement is None or not info.context.principal.sees(engagement.legal_entity):
            raise NotFound(f"engagement {id} not found")
        async for event in live_events(info.context.nats, str(id)):
            yield event
