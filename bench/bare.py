"""Bare servers for the ceilings, each run as its own process like the thing it is compared to.

python -m bench.bare strawberry PORT          bare Strawberry schema ({ hello }), no
                                              extensions, on Starlette + uvicorn exactly
                                              as the gateway is served (uvloop, httptools)
python -m bench.bare echo PORT RESPONSE_BYTES a grpc.aio server with one unary method that
                                              answers every request with RESPONSE_BYTES bytes
"""

from __future__ import annotations

import argparse
import asyncio
import os

import grpc
import strawberry
import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

ECHO_METHOD = "/bench.Echo/Echo"
HELLO = "{ hello }"


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


def serve_strawberry(port: int) -> None:
    app = Starlette(routes=[Route("/graphql", GraphQL(strawberry.Schema(query=Query)))])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )


async def serve_echo(port: int, response_bytes: int) -> None:
    payload = os.urandom(response_bytes)

    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return payload

    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(echo)  # bytes in, bytes out: no codec
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler})]
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        await server.wait_for_termination()
    except asyncio.CancelledError:
        await server.stop(1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("kind", choices=["strawberry", "echo"])
    parser.add_argument("port", type=int)
    parser.add_argument("response_bytes", type=int, nargs="?", default=0)
    options = parser.parse_args()
    if options.kind == "strawberry":
        serve_strawberry(options.port)
    else:
        uvloop.run(serve_echo(options.port, options.response_bytes))


if __name__ == "__main__":
    main()
