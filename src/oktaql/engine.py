"""The session's old home, kept so ``from oktaql.engine import Session`` still works."""

from oktaql.session import NamedOrg, Result, Session

__all__ = ["NamedOrg", "Result", "Session"]
