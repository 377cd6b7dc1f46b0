"""The console's routes: one HTML shell for every page, its assets, and a local GraphiQL."""

from __future__ import annotations

from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.console.assets import AssetBundle
from gateway.console.security import page_headers

_HERE = Path(__file__).parent
# The browser-side router draws these paths; the server answers each with the same shell.
PAGES = ("/", "/engagements", "/engagements/{id}", "/utilization", "/integration")


class Console:
    def __init__(self, *, dev_mode: bool, assets: AssetBundle | None = None) -> None:
        self.assets = assets or AssetBundle()
        self.dev_mode = dev_mode
        self._shell = self._render("index.html")
        self._graphiql = self._render("graphiql.html")

    def _render(self, name: str) -> str:
        template = Template((_HERE / name).read_text(encoding="utf-8"))
        return template.substitute(base=self.assets.base, dev="true" if self.dev_mode else "false")

    def routes(self) -> list[BaseRoute]:
        return [
            *(Route(path, self.page, methods=["GET", "HEAD"]) for path in PAGES),
            Route(
                "/console/assets/{version}/{path:path}",
                self.assets.serve,
                methods=["GET", "HEAD"],
            ),
        ]

    async def page(self, request: Request) -> Response:
        return HTMLResponse(self._shell, headers=page_headers(request))

    async def graphiql(self, request: Request) -> Response:
        """GraphiQL (development mode), from the pinned copies in static/vendor/graphiql."""
        return HTMLResponse(self._graphiql, headers=page_headers(request))
