"""The local stack's own certificate authority and one certificate per process identity.

`weftwork up` keeps them in <data dir>/tls: ca.crt (+ ca.key), and <name>.crt / <name>.key for
every service, the gateway and `ops` (the weftwork command). Each certificate names its
identity three ways: subject CN, the URI SAN spiffe://weftwork/<name> (what servers check
against their allow-lists) and the DNS SAN <name> (what clients check the server against),
plus localhost and 127.0.0.1 for tools such as grpcurl. Existing files are kept while valid
and signed by the CA beside them, so restarts reuse them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.grpc.tls import SPIFFE_PREFIX
from mesh.settings import IDENTITIES, TlsFiles

CA_NAME = "Weftwork local CA"
CA_DAYS = 3650
LEAF_DAYS = 397
RENEW_WITHIN = dt.timedelta(days=30)
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def tls_dir(data_dir: Path) -> Path:
    return data_dir / "tls"


def identity_files(directory: Path, name: str) -> TlsFiles:
    return TlsFiles(
        ca=directory / "ca.crt", cert=directory / f"{name}.crt", key=directory / f"{name}.key"
    )


def ensure_certificates(directory: Path, names: Sequence[str] = IDENTITIES) -> dict[str, TlsFiles]:
    """The CA and a certificate for each name, made if missing, expiring or from another CA."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_key, ca_cert = _ensure_ca(directory)
    found = {}
    for name in names:
        files = identity_files(directory, name)
        if not _still_good(files.cert, ca_cert):
            key = ec.generate_private_key(ec.SECP256R1())
            _write(files.key, _key_pem(key), private=True)
            _write(files.cert, _leaf(name, key, ca_key, ca_cert).public_bytes(_PEM), private=False)
        found[name] = files
    return found


def existing_identity(data_dir: Path, name: str) -> TlsFiles | None:
    """A local stack's certificate of `name`, if `weftwork up` made one in this data dir."""
    files = identity_files(tls_dir(data_dir), name)
    return files if files.ca.is_file() and files.cert.is_file() and files.key.is_file() else None


_PEM = serialization.Encoding.PEM


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Atomically, so a process starting meanwhile reads the old file or the new, never half."""
    partial = path.with_suffix(path.suffix + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(partial, path)


def _ensure_ca(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key_path, cert_path = directory / "ca.key", directory / "ca.crt"
    if key_path.is_file() and cert_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if isinstance(key, ec.EllipticCurvePrivateKey) and _valid_for_a_while(cert):
            return key, cert
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(_PEM), private=False)
    return key, cert


def _leaf(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(SPIFFE_PREFIX + name),
        x509.DNSName(name),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Weftwork"),
                    x509.NameAttribute(NameOID.COMMON_NAME, name),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _valid_for_a_while(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_WITHIN


def _still_good(cert_path: Path, ca_cert: x509.Certificate) -> bool:
    """The certificate exists, lasts beyond the renewal window and was signed by this CA."""
    key_path = cert_path.with_suffix(".key")
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return _valid_for_a_while(cert)
