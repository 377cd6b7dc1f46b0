"""Connect's doors to the outside: project's gRPC API, vendors' HTTP APIs, the secret box."""
