"""SCRAM-SHA-256 (RFC 5802, RFC 7677) as a Postgres server speaks it.

The password never crosses the wire: the client proves it knows it against a salted key. Only
the stored and server keys are kept (computed once per server); each exchange has its own
nonce. Channel binding (SCRAM-SHA-256-PLUS) is not offered, so a client may say it supports it
("y") or not ("n"), never require it ("p").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 4096  # Postgres's default scram_iterations
MECHANISM = "SCRAM-SHA-256"


class AuthFailed(Exception):
    """The client's proof does not match, or its messages are not SCRAM."""


class ScramVerifier:
    """What the server keeps of the password: salt, iterations, StoredKey, ServerKey."""

    def __init__(self, password: str, *, iterations: int = ITERATIONS):
        self.salt = secrets.token_bytes(16)
        self.iterations = iterations
        salted = hashlib.pbkdf2_hmac("sha256", _prep(password), self.salt, iterations)
        client_key = _hmac(salted, b"Client Key")
        self.stored_key = hashlib.sha256(client_key).digest()
        self.server_key = _hmac(salted, b"Server Key")

    def exchange(self) -> ScramExchange:
        return ScramExchange(self)


class ScramExchange:
    """One authentication: client-first → server-first, client-final → server-final."""

    def __init__(self, verifier: ScramVerifier):
        self.verifier = verifier
        self._first_bare = ""
        self._server_first = ""
        self._nonce = ""

    def server_first(self, client_first: bytes) -> bytes:
        text = _text(client_first)
        gs2, sep, rest = text.partition(",")
        if gs2 not in ("n", "y") or not sep:
            raise AuthFailed("channel binding is not offered: connect without requiring it")
        _authzid, sep, bare = rest.partition(",")
        if not sep:
            raise AuthFailed("malformed SCRAM client-first message")
        attrs = _attributes(bare)
        client_nonce = attrs.get("r", "")
        if not client_nonce or "m" in attrs:
            raise AuthFailed("malformed SCRAM client-first message")
        self._first_bare = bare
        self._gs2_header = f"{gs2},{_authzid},"
        self._nonce = client_nonce + base64.b64encode(secrets.token_bytes(18)).decode()
        salt = base64.b64encode(self.verifier.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={self.verifier.iterations}"
        return self._server_first.encode()

    def server_final(self, client_final: bytes) -> bytes:
        """The server's signature; :class:`AuthFailed` when the proof is wrong."""
        text = _text(client_final)
        without_proof, sep, proof_attr = text.rpartition(",p=")
        if not sep:
            raise AuthFailed("malformed SCRAM client-final message")
        attrs = _attributes(without_proof)
        binding = base64.b64encode(self._gs2_header.encode()).decode()
        if attrs.get("c") != binding or attrs.get("r") != self._nonce:
            raise AuthFailed("SCRAM nonce or channel binding mismatch")
        try:
            proof = base64.b64decode(proof_attr, validate=True)
        except ValueError:
            raise AuthFailed("malformed SCRAM proof") from None
        message = f"{self._first_bare},{self._server_first},{without_proof}".encode()
        signature = _hmac(self.verifier.stored_key, message)
        if len(proof) != len(signature):
            raise AuthFailed("malformed SCRAM proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key):
            raise AuthFailed("wrong password")
        server_signature = _hmac(self.verifier.server_key, message)
        return b"v=" + base64.b64encode(server_signature)


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _prep(password: str) -> bytes:
    """SASLprep's common case: libpq normalizes a password to NFKC before hashing (an ASCII
    password is unchanged)."""
    import unicodedata

    return unicodedata.normalize("NFKC", password).encode()


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthFailed("SCRAM message is not UTF-8") from None


def _attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and len(key) == 1:
            out[key] = value
    return out


__all__ = ["ITERATIONS", "MECHANISM", "AuthFailed", "ScramExchange", "ScramVerifier"]
