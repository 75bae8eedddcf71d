"""Behaviours: what a resource family does beyond the generic resource, one module each.

Each module serves its family's paths (``ROUTES``: path template → method → handler,
parameters in the template's names): apps and their refresh tokens and assignments, users,
groups and group rules, authorization servers, the clients holding an owner's tokens
(``clients``), org policies, the System Log and the org's administration resources. A
collection a behaviour keeps itself is a ``_family.Family``: its store, renderer, writer and
System Log events as data, the list/get/create/replace/delete/lifecycle handlers built once.
The router (``_routing``) puts them into the one table built from Okta's spec; every other
path of the spec is the generic resource's.
"""

from __future__ import annotations

from .._http import Handler
from . import admin, apps, authorization_servers, clients, groups, logs, policies, users

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    *apps.ROUTES,
    *users.ROUTES,
    *groups.ROUTES,
    *authorization_servers.ROUTES,
    *clients.ROUTES,
    *policies.ROUTES,
    *logs.ROUTES,
    *admin.ROUTES,
]
