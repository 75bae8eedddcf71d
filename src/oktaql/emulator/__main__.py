"""``python -m oktaql.emulator``: serve an emulated Okta org in the foreground."""

from __future__ import annotations

import argparse

from . import EmulatorConfig, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m oktaql.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--token", default=EmulatorConfig.token, help="SSWS token to accept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--apps", type=int, default=None, help="exactly N OIDC apps")
    parser.add_argument("--tokens-per-app", type=int, default=None)
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--groups", type=int, default=None)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute")
    args = parser.parse_args(argv)
    config = EmulatorConfig(
        token=args.token,
        seed=args.seed,
        apps=args.apps,
        tokens_per_app=args.tokens_per_app,
        users=args.users,
        groups=args.groups,
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
    )
    serve(config, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
