"""Project's doors to other services: the customer service's gRPC API."""
