"""Connect's own events about outbound delivery (stream CONNECT)."""

from __future__ import annotations

from dataclasses import dataclass

from services.connect.domain.delivery import Delivery
from services.connect.domain.webhooks import WebhookEndpoint


@dataclass(frozen=True)
class DeliveryFailed:
    delivery: Delivery


@dataclass(frozen=True)
class EndpointDisabled:
    endpoint: WebhookEndpoint


OutboundEvent = DeliveryFailed | EndpointDisabled
