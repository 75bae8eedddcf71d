"""Provider documents in StackQL's format: registry layout, loading, and the resource model."""

from __future__ import annotations

from oktaql.provider._model import Column, Method, Param, Provider, Resource, Service
from oktaql.provider._registry import BUILTIN_REGISTRY, Registry, open_registry

__all__ = [
    "BUILTIN_REGISTRY",
    "Column",
    "Method",
    "Param",
    "Provider",
    "Registry",
    "Resource",
    "Service",
    "open_registry",
]
