"""What a server is started with, and the rules it is checked against before it listens."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass

from oktaql.errors import ConfigError


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 5466
    read_only: bool = True
    password: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    max_connections: int = 16


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_config(config: ServeConfig) -> None:
    """Off loopback a client must come over TLS and prove a password: refuse to start
    otherwise."""
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError("give both --tls-cert and --tls-key (or neither)")
    if not is_loopback(config.host):
        missing = [
            what
            for what, ok in (
                ("TLS (--tls-cert and --tls-key)", config.tls_cert),
                ("a password (--password-env NAME or --password-file PATH)", config.password),
            )
            if not ok
        ]
        if missing:
            raise ConfigError(
                f"--host {config.host} is not a loopback address: serving beyond this machine "
                f"needs {' and '.join(missing)}"
            )
    if config.password is not None and not config.password:
        raise ConfigError("the password is empty: give a non-empty one")


def tls_context(config: ServeConfig) -> ssl.SSLContext | None:
    if not config.tls_cert or not config.tls_key:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from None
    return ctx


__all__ = ["ServeConfig", "check_config", "is_loopback", "tls_context"]
