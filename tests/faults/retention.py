"""Retention during a fault run: every service prunes every second with short windows, so rows
go while faults happen; the checker counts applications from the append-only audit log, which
is never pruned, and the run reports what was pruned (from the services' logs)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

# The inbox window must outlast any redelivery a run can cause: not only the ack wait (5 s) and
# a pause (ack wait + 4 s), but a redelivered copy waiting its turn behind a backlog. With 30 s,
# a CI run (seed 20261126, load average ~20) re-applied 53 of revenue's billing events whose
# inbox rows were gone (its handlers are idempotent on their own, so the books held; the audit
# log counted them). 120 s is still short enough for rows to go during a CI-size run. The
# published outbox rows stay: the checker reads every event from the outboxes.
INBOX_SECONDS, KEY_SECONDS = 120, 60
PRUNING_ENV = {
    "WEFTWORK_PRUNE_INTERVAL_SECONDS": "1",
    "WEFTWORK_PRUNE_BATCH_ROWS": "200",
    "WEFTWORK_RETENTION_INBOX_SECONDS": str(INBOX_SECONDS),
    "WEFTWORK_RETENTION_IDEMPOTENCY_SECONDS": str(KEY_SECONDS),
}
PRUNED = "retention pruned"  # mesh.retention's log line, with {"pruned": {table: rows}}


def pruned_rows(logs: Iterable[Path]) -> Counter[str]:
    """Rows every process pruned, by table, read from its JSON log lines."""
    total: Counter[str] = Counter()
    for path in logs:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if PRUNED not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a SIGKILL
            if entry.get("message") == PRUNED:
                total.update({table: int(n) for table, n in entry.get("pruned", {}).items()})
    return total


def pruned_while_running(logs: Iterable[Path], seconds: float) -> bool:
    """Whether retention visibly ran: a run twice as long as the keys' window (the set-up writes
    keys in its first seconds) must have pruned some; a shorter one may have pruned nothing."""
    pruned = pruned_rows(logs)
    return seconds < 2 * KEY_SECONDS or pruned["idempotent_requests"] + pruned["inbox"] > 0


def pruned_note(logs: Iterable[Path]) -> str:
    pruned = pruned_rows(logs)
    tables = ("outbox", "inbox", "idempotent_requests")
    return "rows pruned during the run: " + ", ".join(f"{t} {pruned[t]:,}" for t in tables)
