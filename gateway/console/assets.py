"""The console's static files under one content-hashed path, cached for a year by browsers."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

STATIC = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


class AssetBundle:
    """Every file under static/, read once; the bundle's hash changes when any file does.

    One hash for the whole tree keeps the modules' relative imports working and makes a new
    release a new URL for every file, so a browser never mixes two releases.
    """

    def __init__(self, root: Path = STATIC) -> None:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "index.html")
        digest = hashlib.sha256()
        self._assets: dict[str, Asset] = {}
        for path in files:
            name = path.relative_to(root).as_posix()
            body = path.read_bytes()
            digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
            kind = _TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "text/plain"
            self._assets[name] = Asset(body, kind)
        self.version = digest.hexdigest()[:16]
        self.base = f"/console/assets/{self.version}/"

    def url(self, name: str) -> str:
        if name not in self._assets:
            raise KeyError(f"no console asset {name}")
        return self.base + name

    async def serve(self, request: Request) -> Response:
        asset = self._assets.get(request.path_params["path"])
        # An old release's URL is gone: the page that asked for it is stale and reloads.
        if asset is None or request.path_params["version"] != self.version:
            return PlainTextResponse("not found", status_code=404)
        return Response(
            asset.body,
            media_type=asset.media_type,
            headers={"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"},
        )
