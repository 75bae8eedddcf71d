"""Provider documents in StackQL's format: registry layout, loading, and the resource model."""

from __future__ import annotations

from oktaql.provider._facts import FilterRule, request_scopes
from oktaql.provider._model import (
    BodyField,
    Column,
    Method,
    Param,
    Provider,
    Resource,
    Service,
    object_key_parts,
)
from oktaql.provider._private import failing_dir, private_dir
from oktaql.provider._registry import (
    BUILTIN_REGISTRY,
    Registry,
    open_registry,
    service_ref_parts,
    version_key,
)
from oktaql.provider._schema import Doc, escape
from oktaql.provider._yamlcache import MAX_FILE_BYTES, load_document

__all__ = [
    "BUILTIN_REGISTRY",
    "MAX_FILE_BYTES",
    "BodyField",
    "Doc",
    "FilterRule",
    "escape",
    "failing_dir",
    "load_document",
    "object_key_parts",
    "private_dir",
    "request_scopes",
    "service_ref_parts",
    "version_key",
    "Column",
    "Method",
    "Param",
    "Provider",
    "Registry",
    "Resource",
    "Service",
    "open_registry",
]
