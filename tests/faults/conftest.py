"""The fault-injection suite runs only when asked for (WEFTWORK_FAULT_SIZE=ci|full).

It is not yet proven stable enough for every CI run on a shared 2-core machine, so `make test`
skips collecting it; `make faults` runs it at full size. Turning it on in CI is open work.
"""

from __future__ import annotations

import os

if not os.environ.get("WEFTWORK_FAULT_SIZE"):
    collect_ignore_glob = ["test_*.py"]
