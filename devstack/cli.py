"""The `weftwork` command: thin parsing over devstack (up, serve, migrate, status, …)."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from devstack.entrypoints import RUNNABLE, load_main
from devstack.errors import StackError
from mesh.logging import configure_logging
from mesh.settings import SERVICES, SettingsError, load_settings

USAGE_ERROR = 2


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, its arguments, and what it runs (returns the exit status)."""

    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


def _up_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dev", action="store_true", help="run the services in dev mode")


def _up(args: argparse.Namespace) -> int:
    from devstack.up import run_up

    settings = load_settings()
    configure_logging("weftwork", settings.log_level)
    return asyncio.run(run_up(settings, dev=args.dev))


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=RUNNABLE, help="the service (or gateway) to run")


def _serve(args: argparse.Namespace) -> int:
    from devstack.nats_users import user_url
    from devstack.servers import with_local_nats_credentials

    # Beside a running `weftwork up`, on its NATS as this service's own user.
    settings = load_settings()
    local = with_local_nats_credentials(settings)
    if local is not settings:
        os.environ["WEFTWORK_NATS_URL"] = user_url(local.nats_url, args.name)
    result = load_main(args.name)()
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    return result if isinstance(result, int) else 0


async def _awaited(awaitable: object) -> object:
    assert inspect.isawaitable(awaitable)
    return await awaitable


def _migrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "services",
        nargs="*",
        metavar="service",
        help=f"any of {', '.join(SERVICES)} (default: all)",
    )


def _migrate(args: argparse.Namespace) -> int:
    from devstack.migrate import describe, migrate_services
    from devstack.servers import local_postgres

    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        problems = "; ".join(f"unknown service {n!r}" for n in unknown)
        print(f"weftwork migrate: {problems}", file=sys.stderr)
        return USAGE_ERROR
    chosen = args.services or list(SERVICES)
    settings = load_settings()
    with local_postgres(settings, reuse_running=True) as live:
        applied = asyncio.run(migrate_services(live, chosen))
    print("\n".join(describe(applied)))
    return 0


def _status(args: argparse.Namespace) -> int:
    from devstack.servers import with_local_nats_credentials
    from devstack.status import check_stack, render_stack

    del args
    status = asyncio.run(check_stack(with_local_nats_credentials(load_settings())))
    print(render_stack(status))
    return 1 if status.down else 0


def _token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--role", action="append", required=True, help="admin, sales, delivery, ..."
    )
    parser.add_argument(
        "--entity", action="append", default=None, help="legal entity in scope (default: all, '*')"
    )
    parser.add_argument("--subject", default="local-user", help="the token's sub claim")
    parser.add_argument("--ttl", type=int, default=86_400, help="seconds the token is valid")


def _token(args: argparse.Namespace) -> int:
    from mesh.tokens import issue_token, local_secret

    settings = load_settings()
    secret = settings.jwt_secret or local_secret(settings.data_dir)
    try:
        token = issue_token(
            secret,
            subject=args.subject,
            roles=args.role,
            entities=args.entity or ["*"],
            ttl_seconds=args.ttl,
        )
    except ValueError as exc:
        print(f"weftwork token: {exc}", file=sys.stderr)
        return USAGE_ERROR
    print(token)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from devstack.demo import main

    del args
    main()
    return 0


def _dlq_arguments(parser: argparse.ArgumentParser) -> None:
    from devstack import dlq

    dlq.arguments(parser)


def _dlq(args: argparse.Namespace) -> int:
    from devstack import dlq
    from devstack.servers import local_postgres

    settings = load_settings()
    try:
        with local_postgres(settings, reuse_running=True) as live:
            print(asyncio.run(dlq.run(live, SERVICES, args)))
    except ValueError as exc:
        print(f"weftwork dlq: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return 0


def _connect_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")
    apply = actions.add_parser(
        "apply", help="create or update inbound sources, webhook endpoints and write-back"
    )
    apply.add_argument(
        "file", help="YAML or JSON: `sources:`, `endpoints:`, `writebacks:` (docs/connect.md)"
    )


def _connect(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from devstack.connect import ApplyError, apply_file

    try:
        lines = asyncio.run(apply_file(load_settings(), Path(args.file), os.environ))
    except (ApplyError, OSError) as exc:
        print(f"weftwork connect apply: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


# The subcommand table. Each run() imports its module lazily (so `weftwork --help` stays fast
# and free of I/O libraries).
COMMANDS: dict[str, Command] = {
    "up": Command("start PostgreSQL, NATS and every service; Ctrl-C stops all", _up, _up_arguments),
    "serve": Command("run one service (or the gateway) in this process", _serve, _serve_arguments),
    "migrate": Command(
        "apply pending migrations to each service's database", _migrate, _migrate_arguments
    ),
    "status": Command(
        "health of each service, NATS and PostgreSQL; consumer lag; dead letters", _status
    ),
    "token": Command("print a signed token for the local gateway", _token, _token_arguments),
    "demo": Command("seed a realistic demo firm through the gateway's GraphQL API", _demo),
    "dlq": Command("list, replay or discard dead letters", _dlq, _dlq_arguments),
    "connect": Command(
        "connect's sources as code: `connect apply FILE`", _connect, _connect_arguments
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weftwork", description="Run and inspect Weftwork.")
    commands = parser.add_subparsers(dest="command_name", required=True, metavar="command")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        command.arguments(sub)
        sub.set_defaults(command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.command.run(args)  # type: ignore[no-any-return]
    except SettingsError as exc:
        print(f"weftwork: configuration: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except StackError as exc:
        print(f"weftwork {args.command_name}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
