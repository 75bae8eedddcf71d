"""The Okta SDKs' environment variables (``okta.client.*`` in their YAML config)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from oktaql.auth._dpop import ENV_DPOP
from oktaql.auth._scopes import ENV_SCOPES
from oktaql.auth._service_app import OAuthServiceApp
from oktaql.errors import ConfigError

ENV_AUTH_MODE = "OKTA_CLIENT_AUTHORIZATIONMODE"  # "PrivateKey" selects OAuth 2.0
ENV_CLIENT_ID = "OKTA_CLIENT_CLIENTID"
ENV_PRIVATE_KEY = "OKTA_CLIENT_PRIVATEKEY"  # PEM or JWK text, or a file holding one
ENV_KEY_ID = "OKTA_CLIENT_KID"


def from_env(
    org_url: str | None, environ: Mapping[str, str] | None = None
) -> OAuthServiceApp | None:
    """The Okta SDKs' settings: ``OKTA_CLIENT_AUTHORIZATIONMODE=PrivateKey`` with
    ``OKTA_CLIENT_CLIENTID``, ``OKTA_CLIENT_PRIVATEKEY`` (PEM/JWK text or a file),
    ``OKTA_CLIENT_SCOPES`` (optional), ``OKTA_CLIENT_KID`` (optional) and
    ``OKTA_CLIENT_DPOPENABLED`` (optional). None when the mode is not ``PrivateKey``."""
    env = os.environ if environ is None else environ
    mode = (env.get(ENV_AUTH_MODE) or "").strip()
    if mode.lower() != "privatekey":
        if mode and mode.lower() != "ssws":
            raise ConfigError(
                f"{ENV_AUTH_MODE}={mode!r} is not supported: use PrivateKey (OAuth 2.0 service "
                "app) or SSWS (API token)"
            )
        return None
    missing = [n for n in (ENV_CLIENT_ID, ENV_PRIVATE_KEY) if not (env.get(n) or "").strip()]
    if missing:
        raise ConfigError(f"{ENV_AUTH_MODE}=PrivateKey needs {' and '.join(missing)}")
    if not org_url:
        raise ConfigError("OAuth 2.0 needs the org URL: set OKTA_CLIENT_ORGURL or --org-url")
    scopes = env.get(ENV_SCOPES)
    return OAuthServiceApp(
        org_url,
        env[ENV_CLIENT_ID],
        env[ENV_PRIVATE_KEY],
        scopes=scopes if scopes and scopes.strip() else None,
        dpop=(env.get(ENV_DPOP) or "").strip().lower() in ("1", "true", "yes"),
        key_id=(env.get(ENV_KEY_ID) or "").strip() or None,
    )
