"""Benchmarks against their ceilings: `make bench` (python -m bench); see bench/__main__.py."""

import os

# The harness forks helper processes while its gRPC channels are open; gRPC's fork handlers
# would only log that they skip. Read by grpc at import, so set before any bench module loads.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
