"""Reliable events: transactional outbox and relay, inbox consumers, dead letters, streams.

Import from the modules: mesh.events.outbox (add_event, OutboxRelay), mesh.events.consumer
(EventConsumer), mesh.events.handlers (EventHandlers, Event), mesh.events.deadletters,
mesh.events.streams, mesh.events.nats (NatsConnection).
"""
