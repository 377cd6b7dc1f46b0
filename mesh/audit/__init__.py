"""The audit trail (DESIGN.md §9): who changed what, when, in which request; append-only.

- `scope`: the actor, request id and operation of the work running now (a context variable),
  set by the gRPC server interceptor (mesh.grpc.actor) from the caller's metadata, by the
  consumers for each applied event, and by the gateway for each operation; forwarded on
  outgoing gRPC calls and written on events (ce-actor, ce-onbehalfof, ce-requestid).
- `log`: the row written in the transaction of the change (mesh.db.in_transaction, and
  mesh.events.inbox for events), to the kit's audit_log table (migration 0012).
- `service`: AuditService, served by every service, read by the gateway's `auditLog`.
"""
