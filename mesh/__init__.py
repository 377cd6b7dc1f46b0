"""The shared runtime kit: settings, database, events, gRPC bootstrap, money, local stack."""
