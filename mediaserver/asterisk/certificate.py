"""The TLS certificate Asterisk's HTTP server presents for WSS (browser softphones): the operator's in
production, else a self-signed one made here for development.

Made on the host with `cryptography`: the chroot has no openssl, and Debian's Asterisk lacks
`ast_tls_cert`. Browsers do not trust it: a developer accepts it once (docs/softphone.md), tests ignore
HTTPS errors. DTLS for the media is separate (`dtls_auto_generate_cert` on each endpoint).
"""

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEV_VALIDITY = datetime.timedelta(days=825)  # the longest lifetime browsers accept for a leaf
RENEW_BEFORE = datetime.timedelta(days=30)


def ensure_dev_certificate(cert_path: Path, key_path: Path, hosts: list[str]) -> None:
    """A self-signed certificate for `hosts` (names or IP addresses) at `cert_path`/`key_path`, kept
    while it names them all and has a month left, so a browser's accepted exception survives restarts."""
    if cert_path.is_file() and key_path.is_file() and _still_good(cert_path.read_bytes(), hosts):
        return
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Switchboard development ({hosts[0]})")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + DEV_VALIDITY)
        .add_extension(x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _still_good(pem: bytes, hosts: list[str]) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    left = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return left > RENEW_BEFORE and all(_general_name(host) in names for host in hosts)
