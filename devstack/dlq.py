"""`weftwork dlq list | replay | discard`: dead letters of every service, by id or filter."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from uuid import UUID

from mesh.db import create_pool
from mesh.events.deadletters import DeadLetter, discard, list_dead_letters, replay
from mesh.settings import Settings


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "replay", "discard"))
    parser.add_argument("ids", nargs="*", type=UUID, help="dead letter ids (from `dlq list`)")
    parser.add_argument("--service", action="append", help="only these services' dead letters")
    parser.add_argument("--consumer", help="only this consumer's, e.g. billing-project")
    parser.add_argument(
        "--all", action="store_true", help="replay/discard every pending one matching the filters"
    )
    parser.add_argument("--status", default="pending", help="list: pending, replay_requested, ...")


def render(rows: Sequence[tuple[str, DeadLetter]]) -> str:
    if not rows:
        return "no dead letters"
    lines = [f"{'service':<9} {'id':<36} {'consumer':<22} {'subject':<45} deliveries  error"]
    for service, d in rows:
        error = d.error.splitlines()[0][:80] if d.error else ""
        where = f"{service:<9} {d.id!s:<36} {d.consumer:<22} {d.subject:<45}"
        lines.append(f"{where} {d.deliveries:>10}  {error}")
    return "\n".join(lines)


async def run(settings: Settings, services: Sequence[str], args: argparse.Namespace) -> str:
    """One line per service for replay/discard, or the table for list."""
    if args.action != "list" and not args.ids and not args.all:
        raise ValueError("name dead letter ids, or pass --all to act on every match")
    listed: list[tuple[str, DeadLetter]] = []
    outcome: list[str] = []
    for service in args.service or services:
        pool = await create_pool(settings.database_url_for(service), max_size=2)
        try:
            status = None if args.status == "any" else args.status
            found = await list_dead_letters(pool, consumer=args.consumer, status=status, limit=1000)
            if args.action == "list":
                listed += [(service, d) for d in found]
                continue
            ids = list(args.ids) if args.ids else [d.id for d in found]
            changed = await (replay if args.action == "replay" else discard)(pool, ids)
            outcome.append(f"{service}: {args.action} {changed}")
        finally:
            await pool.close()
    return render(listed) if args.action == "list" else "\n".join(outcome)
