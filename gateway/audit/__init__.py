"""The audit trail at the gateway (DESIGN.md §9): each operation acts as its caller (the JWT
`sub`) with a request id, forwarded to every service it calls; `auditLog` reads the services'
audit entries back, merged by time and scoped to the caller's legal entities."""
