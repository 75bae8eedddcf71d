"""The service app's signing keys: PEM or JWK text, a JWK dict, or a file holding one.

Errors describe what is wrong without repeating the key material (a file is named by its path).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from oktaql.errors import ConfigError

PrivateKey = RSAKey | ECKey

_EC_ALGS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_KEY_FILE_SUFFIXES = (".pem", ".key", ".p8", ".jwk", ".json")


def load_private_key(value: Any) -> PrivateKey:
    """A private key from PEM text, JWK JSON text, a JWK dict, or a file holding PEM or JWK.

    RSA and EC (P-256/384/521) keys are accepted. Errors describe what is wrong without
    repeating the key material (a file is named by its path).
    """
    if isinstance(value, RSAKey | ECKey):
        return _require_private(value, "the key")
    if isinstance(value, Mapping):
        return _from_jwk(dict(value), "the JWK")
    if isinstance(value, os.PathLike):
        return _from_file(Path(value))
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                "the OAuth 2.0 private key is not text: give PEM or JWK (DER is not supported)"
            ) from None
    if not isinstance(value, str):
        raise ConfigError(
            f"the OAuth 2.0 private key must be PEM or JWK text or a file path, "
            f"not {type(value).__name__}"
        )
    text = value.strip()
    if not text:
        raise ConfigError("the OAuth 2.0 private key is empty")
    if text.startswith("-----BEGIN"):
        return _from_pem(text.encode(), "the PEM text")
    if text.startswith("{"):
        return _from_jwk(_json_object(text, "the JWK text"), "the JWK text")
    if "\n" not in text and len(text) < 4096:
        path = Path(text).expanduser()
        try:
            is_file = path.is_file()
        except (OSError, ValueError):  # not a name a file can have (too long, a NUL byte)
            is_file = False
        if is_file:
            return _from_file(path)
        if text.lower().endswith(_KEY_FILE_SUFFIXES):  # clearly meant as a path: name it
            raise ConfigError(f"the OAuth 2.0 private key file {text!r} does not exist")
    raise ConfigError(
        f"the OAuth 2.0 private key (a value of {len(text)} characters) is neither PEM text "
        "('-----BEGIN PRIVATE KEY-----...'), JWK JSON, nor the path of a file holding one"
    )


def _from_file(path: Path) -> PrivateKey:
    where = f"the OAuth 2.0 private key file {str(path)!r}"
    try:
        data = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        raise ConfigError(f"{where} cannot be read ({reason})") from None
    if data.startswith("-----BEGIN"):
        return _from_pem(data.encode(), where)
    if data.startswith("{"):
        return _from_jwk(_json_object(data, where), where)
    raise ConfigError(f"{where} holds neither a PEM key nor a JWK")


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError:
        raise ConfigError(f"{where} is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{where} is not a JWK (a JSON object)")
    if isinstance(obj.get("keys"), list):  # a JWK set: take its only private key
        keys = [k for k in obj["keys"] if isinstance(k, dict) and "d" in k]
        if len(keys) != 1:
            raise ConfigError(f"{where} is a JWK set with {len(keys)} private keys: give one")
        obj = keys[0]
    return obj


def _from_pem(data: bytes, where: str) -> PrivateKey:
    if b"ENCRYPTED" in data.split(b"\n", 1)[0]:
        raise ConfigError(f"{where} is an encrypted PEM key: give it unencrypted")
    for cls in (RSAKey, ECKey):
        try:
            key = cls.import_key(data)
        except TypeError:  # cryptography: password missing
            raise ConfigError(f"{where} is an encrypted PEM key: give it unencrypted") from None
        except (JoseError, ValueError):
            continue
        return _require_private(key, where)
    raise ConfigError(f"{where} is not an RSA or EC key in PEM form")


def _from_jwk(obj: dict[str, Any], where: str) -> PrivateKey:
    kty = obj.get("kty")
    if kty not in ("RSA", "EC"):
        raise ConfigError(f"{where} has kty {kty!r}: OAuth 2.0 service apps use RSA or EC keys")
    try:
        key: PrivateKey = RSAKey.import_key(obj) if kty == "RSA" else ECKey.import_key(obj)
    except (JoseError, ValueError, TypeError, KeyError):
        raise ConfigError(f"{where} is not a valid {kty} JWK") from None
    return _require_private(key, where)


def _require_private(key: PrivateKey, where: str) -> PrivateKey:
    if not key.is_private:
        raise ConfigError(
            f"{where} is a public key: the service app signs with its private key (the public "
            "half is what is registered in Okta)"
        )
    key_algorithm(key)  # unsupported curves fail here
    return key


def key_algorithm(key: PrivateKey) -> str:
    """The JWS algorithm a key signs with: RS256 for RSA, ES256/384/512 by EC curve."""
    if isinstance(key, RSAKey):
        return "RS256"
    alg = _EC_ALGS.get(str(key.get("crv")))
    if alg is None:
        raise ConfigError(
            f"EC curve {key.get('crv')!r} is not supported: use P-256, P-384 or P-521"
        )
    return alg


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE's encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
