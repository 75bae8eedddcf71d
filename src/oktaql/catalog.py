"""Names → provider objects (``okta.apps.tokens`` → Resource), with suggestions for typos."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from oktaql.errors import ProgrammingError
from oktaql.provider import Method, Provider, Registry, Resource


def suggest(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """' (did you mean a, b?)' or ''."""
    pool = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in pool}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + ", ".join(lowered[c] for c in close) + "?)"


class Catalog:
    def __init__(self, registry: Registry):
        self.registry = registry

    def provider(self, name: str) -> Provider:
        names = self.registry.provider_names()
        if name not in names:
            raise ProgrammingError(
                f"unknown provider {name!r}{suggest(name, names)}; providers: {', '.join(names)}"
            )
        return self.registry.provider(name)

    def resource(self, dotted: str) -> Resource:
        parts = dotted.split(".")
        if len(parts) != 3:
            raise ProgrammingError(
                f"{dotted!r} is not a resource name: write <provider>.<service>.<resource>, "
                f"e.g. okta.apps.tokens"
            )
        pname, sname, rname = parts
        prov = self.provider(pname)
        svc = prov.service(sname)
        if svc is None:
            raise ProgrammingError(
                f"unknown service {pname}.{sname}{suggest(sname, prov.services)}: "
                f"SHOW SERVICES IN {pname} lists them"
            )
        res = svc.resources.get(rname)
        if res is None:
            raise ProgrammingError(
                f"unknown resource {pname}.{sname}.{rname}{suggest(rname, svc.resources)}: "
                f"SHOW RESOURCES IN {pname}.{sname} lists them"
            )
        return res

    def method(self, dotted: str) -> tuple[Resource, Method]:
        head, _, mname = dotted.rpartition(".")
        if not head or "." not in head:
            raise ProgrammingError(
                f"{dotted!r} is not a method name: write <provider>.<service>.<resource>.<method>"
            )
        res = self.resource(head)
        m = res.methods.get(mname)
        if m is None:
            raise ProgrammingError(
                f"{res.id} has no method {mname!r}{suggest(mname, res.methods)}: "
                f"SHOW METHODS IN {res.id} lists them"
            )
        return res, m
