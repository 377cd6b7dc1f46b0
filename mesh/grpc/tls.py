"""Mutual TLS for gRPC: credentials from an identity's PEM files, and who a peer is.

A peer is named by its certificate: the URI SAN spiffe://weftwork/<name> when it has one,
else its subject CN. Clients check a server by the DNS SAN <service> (not by the address they
dialled), so one certificate per service serves any address it is reached at.
"""

from __future__ import annotations

from typing import Any

import grpc

from mesh.settings import SettingsError, TlsFiles

SPIFFE_PREFIX = "spiffe://weftwork/"


def _read(files: TlsFiles) -> tuple[bytes, bytes, bytes]:
    """CA, certificate chain and key; a missing or unreadable file stops the process here."""
    parts = []
    for what, path in (("CA", files.ca), ("certificate", files.cert), ("key", files.key)):
        try:
            parts.append(path.read_bytes())
        except OSError as exc:
            raise SettingsError(f"TLS {what} {path}: {exc.strerror or exc}") from None
    return parts[0], parts[1], parts[2]


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """Serve with this certificate; the handshake refuses a client without one from the CA."""
    ca, cert, key = _read(files)
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=True
    )


def channel_credentials(files: TlsFiles) -> grpc.ChannelCredentials:
    """Present this certificate, and trust servers whose certificate chains to the CA."""
    ca, cert, key = _read(files)
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def peer_identity(context: Any) -> str | None:
    """The calling identity of a mutual-TLS call (grpc.aio.ServicerContext); None without one."""
    auth: dict[str, list[bytes]] = context.auth_context()
    for uri in auth.get("peer_uri", []):
        name = uri.decode(errors="replace")
        if name.startswith(SPIFFE_PREFIX):
            return name.removeprefix(SPIFFE_PREFIX)
    common_names = auth.get("x509_common_name", [])
    return common_names[0].decode(errors="replace") if common_names else None
