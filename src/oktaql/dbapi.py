"""DB-API 2.0 (PEP 249) over a session.

``parameters`` given to :meth:`Cursor.execute` are bound as SQL literals, never as SQL: a mapping
binds ``:name`` (and fills ``{{ name }}`` placeholders, escaped for where they stand), a
sequence binds ``?`` in order. A ``:name`` or ``?`` inside a string, a quoted name, a comment or
a ``::`` cast is text. Any mismatch (a missing name, a wrong count, another container) is a
:class:`oktaql.ProgrammingError`.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from oktaql._http import RetryPolicy  # noqa: F401 - re-exported as oktaql.RetryPolicy
from oktaql._json import loads
from oktaql._report import unexpected
from oktaql._settings import Settings
from oktaql.errors import (
    Error,
    InterfaceError,
    NotSupportedError,
    ProgrammingError,
)
from oktaql.session import Result, Session
from oktaql.templates import PARAMETERS


def connect(
    registry: str | os.PathLike[str] | None = None,
    org_url: str | None = None,
    token: str | None = None,
    *,
    settings: Settings | None = None,
    **options: Any,
) -> Connection:
    """Open a connection: ``settings`` (an :class:`oktaql.dbapi.Settings`; the defaults when None)
    with any of its fields given as keywords. An unknown keyword is a ProgrammingError.

    registry: a StackQL registry folder (``<root>/src/okta/<version>/provider.yaml``); the
        built-in provider when None.
    org_url: the whole org URL (``https://acme.okta.com``, or the emulator's URL); defaults to
        ``$OKTA_CLIENT_ORGURL``, else statements name their org with ``subdomain``.
    token: the API token; defaults to ``$OKTA_API_TOKEN`` or ``$OKTA_CLIENT_TOKEN``.
    variables: values for ``{{ name }}`` placeholders.
    transport: an ``httpx`` transport (tests, proxies); timeout: seconds per request (30).
    concurrency: requests in flight at once when a join or IN list fans out (32).
    orgs: named orgs, ``{"east": (org_url, token), ...}``: a statement binding
        ``subdomain = 'east'`` goes to that org with its token, so one statement may span
        several orgs (``... UNION ALL ...``).
    oauth: an OAuth 2.0 service app instead of an API token: ``{"client_id": ...,
        "private_key": PEM/JWK text or file, "scopes": "okta.apps.read ..." (default: what
        each statement needs), "dpop": False, "key_id": None}``. The Okta SDKs' variables
        (``OKTA_CLIENT_AUTHORIZATIONMODE=PrivateKey``, ``OKTA_CLIENT_CLIENTID``,
        ``OKTA_CLIENT_PRIVATEKEY``, ``OKTA_CLIENT_SCOPES``) do the same.
    auth: an ``httpx.Auth`` for the session's own requests instead of a token or ``oauth=``
        (an :class:`oktaql.auth.OAuthServiceApp` built by hand, a scheme of your own); it is
        attached only to the client bound to the org URL, and its scopes follow the statements
        when it has ``ensure_scopes``.
    retry: how hard to retry (:class:`oktaql.RetryPolicy`: retries, backoff, the longest wait
        for a rate limit, pacing as the limit runs low).
    cache_ttl: seconds to reuse identical GET responses (0: never); writes invalidate.
    pushdown: translate WHERE predicates into Okta's filter/search parameters (True).
    stream: a query that only projects one resource's rows streams them from the API, typed,
        without DuckDB (False: always through DuckDB; the rows are the same).
    progress: a progress line on stderr while a fan-out runs (False).
    rate_share: the most of each endpoint family's rate limit one window may take (None: the
        retry policy's, 0.5 by default; 1: all of it).
    notice: a callable given notes for the user, e.g. how long a fan-out paced by the rate
        limit will take (None: stderr when ``progress``, else nowhere).
    db: a DuckDB file keeping views, materialized views and tables between runs; in memory
        when None.
    """
    given = {
        k: v
        for k, v in (("registry", registry), ("org_url", org_url), ("token", token))
        if v is not None
    }
    return Connection(Session(Settings.of(settings, **given, **options)))


Parameters = Mapping[str, Any] | Sequence[Any] | None


def _variables(parameters: Parameters) -> dict[Any, Any] | None:
    """What the session renders the statement with: the mapping's names for ``{{ }}``, and the
    parameters themselves under the one key no template variable can be."""
    if parameters is None:
        return None
    if isinstance(parameters, Mapping):
        for key in parameters:
            if not isinstance(key, str) or key == PARAMETERS:
                raise ProgrammingError(
                    f"parameter names must be strings, not {type(key).__name__} ({key!r})"
                    if not isinstance(key, str)
                    else f"{key!r} is no parameter name"
                )
        return {**parameters, PARAMETERS: parameters}
    if isinstance(parameters, str | bytes | bytearray) or not isinstance(parameters, Sequence):
        raise ProgrammingError(
            "parameters must be a mapping (for :name and {{ name }}) or a sequence (for ?), "
            f"not {type(parameters).__name__}"
        )
    return {PARAMETERS: list(parameters)}


class Connection:
    def __init__(self, session: Session):
        self.session = session
        self._closed = False
        # open cursors only: a long-lived connection (a dashboard's, through `serve`) runs
        # statements for days, each on a cursor it closes
        self._cursors: weakref.WeakSet[Cursor] = weakref.WeakSet()
        # scratch tables of cursors dropped without close(), freed by the next statement
        # (a collector's finalizer may run on any thread, never beside a DuckDB call)
        self._orphans: list[str] = []

    def cursor(self) -> Cursor:
        self._check()
        self._drop_orphans()
        cur = Cursor(self)
        self._cursors.add(cur)
        return cur

    def _drop_orphans(self) -> None:
        if self._orphans:
            names = self._orphans[:]
            del self._orphans[: len(names)]
            self.session.drop_scratch(names)

    def execute(self, sql: str, parameters: Parameters = None) -> Cursor:
        cur = self.cursor()
        cur.execute(sql, parameters)
        return cur

    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters]) -> Cursor:
        cur = self.cursor()
        cur.executemany(sql, seq_of_parameters)
        return cur

    def commit(self) -> None:
        self._check()  # every API call takes effect at once: nothing to commit

    def rollback(self) -> None:
        raise NotSupportedError("Okta API calls cannot be rolled back")

    def close(self) -> None:
        if self._closed:
            return
        for cur in list(self._cursors):
            cur._release(drop=False)  # the scratch tables go with the session's DuckDB
            cur._closed = True
        self.session.close()
        self._closed = True

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the connection is closed")


class Cursor:
    arraysize = 100

    def __init__(self, connection: Connection):
        self.connection = connection
        self._result: Result | None = None
        self._pending: list[tuple[Any, ...]] = []
        self._json_cols: list[int] = []
        self._closed = False
        self.rowcount = -1
        self.message: str | None = None
        # the scratch tables of its result, handed to the connection if it is collected
        # unclosed
        self._scratch: list[str] = []
        weakref.finalize(self, connection._orphans.extend, self._scratch)

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        if self._result is None or not self._result.columns:
            return None
        return [(name, type_, None, None, None, None, None) for name, type_ in self._result.columns]

    def execute(self, sql: str, parameters: Parameters = None) -> Cursor:
        """Run one statement; ``parameters``: a mapping for ``:name`` and ``{{ name }}``, a
        sequence for ``?``."""
        self._check()
        variables = _variables(parameters)
        self._release()
        self.connection._drop_orphans()
        try:
            result = self.connection.session.execute(sql, variables)
        except Error:
            raise
        except Exception as exc:  # a bug of ours must still surface as an oktaql error
            raise unexpected(exc) from exc
        self._result = result
        self._scratch[:] = result.scratch
        self.rowcount = result.rowcount
        self.message = result.message
        # streamed rows arrive with JSON already parsed; DuckDB hands JSON back as text
        self._json_cols = (
            []
            if result.stream is not None
            else [i for i, (_, t) in enumerate(result.columns) if t == "JSON"]
        )
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters]) -> Cursor:
        """Run ``sql`` once per parameter set, in order; ``rowcount`` is their total."""
        if isinstance(seq_of_parameters, str | bytes | Mapping) or not isinstance(
            seq_of_parameters, Iterable
        ):
            raise ProgrammingError(
                "executemany takes a sequence of parameter sets (mappings or sequences), "
                f"not {type(seq_of_parameters).__name__}"
            )
        total = 0
        for params in seq_of_parameters:
            self.execute(sql, params)
            total = -1 if total < 0 or self.rowcount < 0 else total + self.rowcount
        self.rowcount = total
        return self

    def _convert(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not self._json_cols:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i in self._json_cols:
                if isinstance(values[i], str):
                    values[i] = loads(values[i])
            out.append(tuple(values))
        return out

    def _fetch(self, n: int | None) -> list[tuple[Any, ...]]:
        self._check()
        if self._result is None:
            raise InterfaceError("fetch before execute: run a statement first")
        res = self._result
        if not res.columns:
            return []
        if res.rows is not None:
            rows = res.rows if n is None else res.rows[:n]
            res.rows = [] if n is None else res.rows[n:]
            return self._convert(list(rows))
        if res.stream is not None:  # already typed, JSON already parsed
            try:
                return list(res.stream) if n is None else list(itertools.islice(res.stream, n))
            except Error:
                raise
            except Exception as exc:
                raise unexpected(exc) from exc
        assert res.relation is not None
        raw = res.relation.fetchall() if n is None else res.relation.fetchmany(n)
        return self._convert(raw)

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._fetch(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._fetch(size or self.arraysize)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._fetch(None)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while True:
            rows = self.fetchmany()
            if not rows:
                return
            yield from rows

    def fetch_df(self) -> Any:
        """The remaining rows as a pandas DataFrame (``pip install 'oktaql[pandas]'``)."""
        try:
            import pandas
        except ImportError:
            raise NotSupportedError(
                "fetch_df() needs pandas: pip install 'oktaql[pandas]'"
            ) from None
        res = self._need_rows()
        if res.relation is not None:
            return res.relation.fetch_df()
        return pandas.DataFrame(self.fetchall(), columns=[c for c, _ in res.columns])

    def fetch_arrow(self) -> Any:
        """The remaining rows as a pyarrow Table (``pip install 'oktaql[arrow]'``)."""
        try:
            import pyarrow
        except ImportError:
            raise NotSupportedError(
                "fetch_arrow() needs pyarrow: pip install 'oktaql[arrow]'"
            ) from None
        res = self._need_rows()
        if res.relation is not None:
            import warnings

            with warnings.catch_warnings():
                # DuckDB notes the copy a DB-API result costs; this is the API users asked for
                warnings.simplefilter("ignore", UserWarning)
                return res.relation.to_arrow_table()
        rows = self.fetchall()
        names = [c for c, _ in res.columns]
        return pyarrow.table({n: [r[i] for r in rows] for i, n in enumerate(names)})

    def _need_rows(self) -> Result:
        self._check()
        if self._result is None or not self._result.columns:
            raise InterfaceError("no result set: run a statement that returns rows first")
        return self._result

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def _release(self, drop: bool = True) -> None:
        if self._result is not None:
            if self._result.relation is not None:
                self._result.relation.close()
            stream = self._result.stream
            if stream is not None and hasattr(stream, "close"):
                stream.close()  # stops paging: no more requests for rows nobody reads
            if drop:
                self.connection.session.drop_scratch(self._result.scratch)
        self._result = None
        self._scratch.clear()

    def close(self) -> None:
        if not self._closed:
            self._release()
            self._closed = True
            self.connection._cursors.discard(self)

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check()
