"""gRPC bootstrap: server with health, reflection and graceful drain; clients with deadlines."""
