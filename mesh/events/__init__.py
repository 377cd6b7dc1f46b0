"""Reliable events: transactional outbox and relay, inbox consumers, dead letters, streams.

Import from the modules, each one mechanism:
  outbox       add_event(s), OutgoingEvent: events (and lineage rows) written with the change
  relay        OutboxRelay: publishes the outbox to JetStream, marks rows published
  lineage      LineageServicer: an engagement's timeline, from the lineage table
  consumer     EventConsumer: the durable pull consumer's fetch loop
  batch        BatchApplier: one fetched batch in one transaction, then ack or nak
  redelivery   RedeliveryPolicy: nak delays and when a failing event is dead-lettered
  inbox        apply_once: the inbox row and the handler's effect in one transaction
  handlers     EventHandlers, Event: the table of handlers a service registers
  deadletters  record, list, discard and request replay of dead letters
  replayer     DeadLetterReplayer: carries out replay requests for one consumer
  streams      ensure_stream, ensure_consumer, stream names and their owners
  nats         NatsConnection; cloudevents: the ce-* headers; wakeup: LISTEN/NOTIFY + polling
"""
