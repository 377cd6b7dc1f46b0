"""The demo's webhook door: `weftwork demo` (and `up --dev`) create a source and post to it."""

from __future__ import annotations

from devstack import demo_connect
from tests.e2e.connect.hooks import BY_OPPORTUNITY
from tests.e2e.connect.stack import ConnectStack
from tests.support import eventually


async def test_the_demo_posts_a_signed_webhook_that_becomes_an_engagement(
    connect_stack: ConnectStack,
) -> None:
    token = connect_stack.token("admin")
    lines = await demo_connect.seed(connect_stack.graphql, token)
    assert "signing secret (shown once): whsec_" in lines[0]
    assert "HTTP 202" in lines[1]

    async def engagement() -> object:
        found = await connect_stack.gql(BY_OPPORTUNITY, s="demo-partner", o="DEMO-WEBHOOK-1")
        return found["engagementByOpportunity"]

    assert await eventually(engagement, what="the demo webhook's engagement")
    again = await demo_connect.seed(connect_stack.graphql, token)
    assert again == ["connect demo: source 'demo-partner' exists (POST /hooks/demo-partner)"]
