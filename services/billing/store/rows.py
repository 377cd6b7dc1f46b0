"""What every part of the store shares: the connection of the caller's transaction."""

from __future__ import annotations

import asyncpg


class Rows:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
