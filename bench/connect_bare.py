"""Bare servers for connect's ceilings, each its own process like what it is compared to.

python -m bench.connect_bare hooks PORT SECRET   Starlette + uvicorn (uvloop, httptools) as
                                                 the gateway is served: reads the body,
                                                 verifies its Standard Webhooks signature
                                                 with the same library, answers 202; stores
                                                 nothing (the ceiling of /hooks/{source})
python -m bench.connect_bare receiver PORT       the webhook receiver both the outbound bench
                                                 and its bare httpx ceiling post to: 200
"""

from __future__ import annotations

import argparse

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def hooks_app(secret: str) -> Starlette:
    webhook = Webhook(secret)

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            webhook.verify(body, dict(request.headers), json_parse=False)
        except WebhookVerificationError:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        return JSONResponse({"accepted": 1, "duplicates": 0}, status_code=202)

    return Starlette(routes=[Route("/hooks/{source}", receive, methods=["POST"])])


def receiver_app() -> Starlette:
    async def receive(request: Request) -> Response:
        await request.body()
        return Response(b"", status_code=200)

    return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.connect_bare")
    parser.add_argument("kind", choices=["hooks", "receiver"])
    parser.add_argument("port", type=int)
    parser.add_argument("secret", nargs="?", default="")
    options = parser.parse_args()
    app = hooks_app(options.secret) if options.kind == "hooks" else receiver_app()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=options.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
