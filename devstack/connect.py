"""The local stack's side of connect: its secret-box key, and `weftwork connect apply FILE`."""

from __future__ import annotations

from pathlib import Path

from mesh.settings import CONNECT_KEY_FILE
from services.connect.secrets import generate_key


def local_key(data_dir: Path) -> str:
    """The Fernet key that encrypts connect's stored secrets, created once in data_dir (0600)."""
    path = data_dir / CONNECT_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key())
        path.chmod(0o600)
    return path.read_text().strip()
