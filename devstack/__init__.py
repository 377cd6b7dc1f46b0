"""The local stack: embedded PostgreSQL and NATS, a small process supervisor, `weftwork up`."""
