"""A session: settings, credentials and clients, the DuckDB engine, and running statements.

SQL text → templates → parse → ``planning.plan`` (typed steps) → ``_execute.run`` → Result.
EXPLAIN is a plan of one step that answers the inner plan's description; it sends nothing.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from oktaql import _execute, local, parser, templates
from oktaql._cache import ResponseCache
from oktaql._cancel import Cancellation
from oktaql._execute import Result
from oktaql._http import HTTPClient, Request, RetryPolicy, origin, show_origin
from oktaql._persistent_cache import PersistentCache
from oktaql._settings import Settings
from oktaql.catalog import Catalog
from oktaql.errors import ConfigError, DatabaseError, Error, OperationalError, ProgrammingError
from oktaql.planning import (
    Call,
    Environment,
    Plan,
    PlanContext,
    Scan,
    check_org_url,
    names_local_tables,
    plan,
    query_steps,
)
from oktaql.provider import Method, Registry, open_registry
from oktaql.registry_pull import pulled_registry

if TYPE_CHECKING:
    from collections.abc import Generator
    from concurrent.futures import ThreadPoolExecutor

    # DuckDB loads on first use: EXPLAIN of a provider query never needs it
    import duckdb

TOKEN_ENV_VARS = ("OKTA_API_TOKEN", "OKTA_CLIENT_TOKEN")
ORG_URL_ENV = "OKTA_CLIENT_ORGURL"


@dataclass
class NamedOrg:
    """An org a statement can name with ``subdomain = '<name>'`` (a profile)."""

    name: str
    url: str
    token_getter: Callable[[], str | None] = field(default=lambda: None, repr=False)
    token_hint: str = "give it a token"

    def token(self) -> str | None:
        return self.token_getter()


class Session:
    def __init__(self, settings: Settings | None = None, /, **options: Any):
        """``settings`` (the defaults when None) with any of its fields given as keywords."""
        s = Settings.of(settings, **options)
        self.settings = s
        self.progress = s.progress
        self.stream = s.stream  # a query that only projects one resource skips DuckDB
        # pacing keeps a reserve of about one call per worker in flight
        self.retry = s.retry or RetryPolicy(pace_reserve=max(1, int(s.concurrency)))
        if s.rate_share is not None and s.rate_share != self.retry.rate_share:
            self.retry = dataclasses.replace(self.retry, rate_share=s.rate_share)
        self._oauth_settings = dict(s.oauth) if s.oauth else None
        self._oauth: Any = None  # an auth.OAuthServiceApp once the default client is built
        self._pending_scopes: set[str] = set()
        self._client_lock = threading.Lock()  # fan-out threads build clients at most once
        self.pushdown = s.pushdown
        self.cache = ResponseCache(s.cache_ttl)
        self.persistent_cache: PersistentCache | None = None
        if s.persistent_cache is not False and s.persistent_cache not in ("", None):
            folder = None if s.persistent_cache is True else s.persistent_cache
            self.persistent_cache = PersistentCache(
                folder, s.cache_ttl, s.persistent_cache_max_mb, s.persistent_cache_max_days
            )
        self.orgs = {name: org for name, org in (s.orgs or {}).items()}
        for org in self.orgs.values():
            org.url = check_org_url(org.url)
        self._org_clients: dict[str, HTTPClient] = {}
        self.concurrency = max(1, int(s.concurrency))
        self.catalog = Catalog(
            _registry(Path(s.registry) if s.registry is not None else pulled_registry())
        )
        url = s.org_url or os.environ.get(ORG_URL_ENV) or None
        self.org_url = check_org_url(url) if url else None
        # the one origin the session's own credential goes to: the org URL, or without one the
        # first org a statement names (bound when its first request is about to go)
        self._own_url: str | None = self.org_url
        self._token = s.token
        self.variables: dict[str, Any] = dict(s.variables or {})
        self._transport = s.transport
        self._cancellation = Cancellation()  # every client sends through its gate
        self._cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        self._timeout = s.timeout
        self._http: HTTPClient | None = None
        self._db_path = s.db
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._views: local.ViewStore | None = None

    # --- settings -------------------------------------------------------------------------

    # A credential is bound to one origin. The session's own (token=, the chosen profile's,
    # $OKTA_API_TOKEN/$OKTA_CLIENT_TOKEN, or an OAuth 2.0 app) goes to the org URL, or, without
    # one, to the first org a statement names; a named org's goes to its own URL. Each call
    # carries which one it was planned with (Request.org) and the client is picked by that
    # alone, never by matching a URL; each client refuses any other origin (HTTPClient).

    def token(self) -> str | None:
        """The session's API token: token= (a profile's, from the CLI), else $OKTA_API_TOKEN,
        else $OKTA_CLIENT_TOKEN. A provider's ``credentialsenvvar`` is never read: a provider
        must not choose which of the user's secrets is sent."""
        if self._token:
            return self._token
        for name in TOKEN_ENV_VARS:
            if os.environ.get(name):
                return os.environ[name]
        return None

    def http(
        self, provider_name: str, url: str | None = None, org: str | None = None
    ) -> HTTPClient:
        """The client for a call planned with ``org``'s credential (None: the session's own)."""
        with self._client_lock:
            return self._client_for(provider_name, url, org)

    def _client_for(self, provider_name: str, url: str | None, org: str | None) -> HTTPClient:
        if org is not None:
            named = self.orgs.get(org)
            if named is None:
                raise ConfigError(f"no named org {org!r}: pass it in orgs= or add a profile")
            client = self._org_clients.get(org)
            if client is None:
                token = named.token()
                if not token:
                    raise ConfigError(f"org {org!r} has no API token: {named.token_hint}")
                auth = self.catalog.provider(provider_name).auth
                client = HTTPClient(
                    str(auth.get("valuePrefix", "SSWS ")) + token,
                    origin=named.url,
                    timeout=self._timeout,
                    transport=self._gate(),
                    retry=self.retry,
                    connections=self.concurrency,
                )
                self._org_clients[org] = client
            return client
        if self._http is None:
            if self._own_url is None and url is not None:
                self._own_url = url
            oauth = self._oauth_auth()
            if oauth is not None:
                if hasattr(oauth, "ensure_scopes"):  # an OAuthServiceApp; any httpx.Auth may come
                    oauth.ensure_scopes(self._pending_scopes)
                self._oauth = oauth
                self._http = HTTPClient(
                    None,
                    origin=self._own_url,
                    auth=oauth,
                    timeout=self._timeout,
                    transport=self._gate(),
                    retry=self.retry,
                    connections=self.concurrency,
                )
                return self._http
            auth = self.catalog.provider(provider_name).auth
            token = self.token()
            if not token:
                other = auth.get("credentialsenvvar")
                note = (
                    f" (the provider names {other}, which oktaql does not read: only the "
                    "variables above supply a token)"
                    if other and other not in TOKEN_ENV_VARS
                    else ""
                )
                raise ConfigError(
                    "no Okta API token: set OKTA_API_TOKEN (or OKTA_CLIENT_TOKEN), or pass "
                    f"token= to oktaql.connect(){note}; EXPLAIN works without one"
                )
            self._http = HTTPClient(
                str(auth.get("valuePrefix", "SSWS ")) + token,
                origin=self._own_url,
                timeout=self._timeout,
                transport=self._gate(),
                retry=self.retry,
                connections=self.concurrency,
            )
        return self._http

    def check_targets(self, requests: Iterable[Request], bind: bool = True) -> None:
        """Before a statement sends anything: every call planned with the session's own
        credential goes to its one origin. Without an org URL the first org named binds it
        (``bind``; EXPLAIN only checks)."""
        own = self._own_url
        for req in requests:
            if req.org is not None:
                continue  # a named org's call: built from its URL, its client checks it
            if own is None:
                own = req.url
                continue
            if origin(req.url) != origin(own):
                raise ConfigError(
                    f"{req.method} {show_origin(req.url)}: the session's credential is bound to "
                    f"{show_origin(own)}"
                    + (
                        ""
                        if self.org_url
                        else ", the first org this session named (no org URL was given)"
                    )
                    + "; to call another org, configure a profile for it and name it "
                    "(subdomain = '<profile>'), or pass orgs= to oktaql.connect(); nothing was sent"
                )
        if bind and own is not None and self._own_url is None:
            self._own_url = own

    def _oauth_auth(self) -> Any:
        """connect(auth=...), else an OAuth 2.0 service app from connect(oauth=...) or the Okta
        SDKs' variables."""
        if self.settings.auth is not None:
            return self.settings.auth
        if self._oauth_settings is None and os.environ.get("OKTA_CLIENT_AUTHORIZATIONMODE") is None:
            return None
        from oktaql import auth

        if self._oauth_settings is not None:
            if not self.org_url:
                raise ConfigError(
                    "OAuth 2.0 needs the org URL: pass org_url= or set OKTA_CLIENT_ORGURL"
                )
            s = self._oauth_settings
            return auth.OAuthServiceApp(
                self.org_url,
                s.get("client_id", ""),
                s.get("private_key"),
                scopes=s.get("scopes"),
                dpop=bool(s.get("dpop", False)),
                key_id=s.get("key_id"),
            )
        return auth.from_env(self.org_url)

    def need_scopes(self, methods: list[Method]) -> None:
        """One access token covers the whole statement: ask for its scopes up front."""
        if (
            self._oauth_settings is None
            and self._oauth is None
            and self.settings.auth is None
            and not os.environ.get("OKTA_CLIENT_AUTHORIZATIONMODE")
        ):
            return
        from oktaql.auth import scopes_for

        self._pending_scopes.update(scopes_for(methods))
        if hasattr(self._oauth, "ensure_scopes"):
            self._oauth.ensure_scopes(self._pending_scopes)

    def auth_display(self, provider_name: str, org: str | None = None) -> str:
        """The Authorization scheme a request would carry, its credential masked."""
        own = self._oauth or self.settings.auth
        if org is None and own is not None and not hasattr(own, "ensure_scopes"):
            return "***"  # connect(auth=) with a scheme of the caller's own: it alone knows it
        if org is None and (own is not None or self._oauth_settings is not None):
            dpop = (self._oauth_settings or {}).get("dpop") or getattr(own, "dpop", False)
            return ("DPoP" if dpop else "Bearer") + " ***"
        mode = os.environ.get("OKTA_CLIENT_AUTHORIZATIONMODE", "").strip().lower()
        if org is None and mode == "privatekey":  # the SDKs' variables: the app is built later
            from oktaql.auth import ENV_DPOP

            dpop = os.environ.get(ENV_DPOP, "").strip().lower() in ("1", "true", "yes")
            return ("DPoP" if dpop else "Bearer") + " ***"
        auth = self.catalog.provider(provider_name).auth
        return str(auth.get("valuePrefix", "SSWS ")) + "***"

    # the database file, attached to the private DuckDB only while a statement needs it; None
    # when the local objects live in the private DuckDB itself (db=":memory:")
    _file: local.LocalFile | None = None

    @property
    def duck(self) -> duckdb.DuckDBPyConnection:
        """The session's private in-memory DuckDB: scratch tables and constant folding. The
        database file is attached to it only within ``local_state``."""
        if self._duck is None:
            self._duck = local.open_database(self._db_path)
            if not local.is_memory(self._db_path):
                self._file = local.LocalFile(self._duck, str(self._db_path))
        return self._duck

    @property
    def views(self) -> local.ViewStore:
        if self._views is None:
            self._views = local.ViewStore(self.duck, self.local_state)
        return self._views

    def local_state(self, write: bool = False) -> local.Attachment:
        """The database file attached for a block, read-only unless ``write``; unqualified
        names resolve in it there. Yields whether there is a file to read."""
        self.duck  # noqa: B018 - opens the private DuckDB (and so knows the file)
        return local.attachment(self._file, write)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the private DuckDB that sees what the statement sees (the file, when
        it is attached)."""
        duck = self.duck
        cur = self._file.cursor() if self._file is not None else duck.cursor()
        self._cursors.add(cur)  # cancel() interrupts its query too
        return cur

    def _gate(self) -> Any:
        """The transport of a new client: ``transport=`` (or real HTTP) behind the session's
        cancellation."""
        gate = self._cancellation.transport(self._transport, self.concurrency)
        # the disk cache sits outside the gate: a page it answers is no request to cancel
        return gate if self.persistent_cache is None else self.persistent_cache.transport(gate)

    def cancel(self) -> int:
        """Stop what this session is doing, at once; safe from another thread or a signal
        handler, and nothing is waited for. Requests in flight are abandoned (their connections
        shut down), every later request raises ``OperationalError`` ("interrupted: ... was not
        sent") until :meth:`resume`, and a DuckDB query running is interrupted. Returns how many
        requests were in flight."""
        flying = self._cancellation.cancel()
        for con in (self._duck, *list(self._cursors)):
            if con is not None:
                con.interrupt()  # a connection's interrupt does not reach its cursors
        return flying

    def resume(self) -> None:
        """Send again after :meth:`cancel` (once the cancelled statement has stopped)."""
        self._cancellation.resume()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        for client in self._org_clients.values():
            client.close()
        if self._file is not None:
            self._file.close()  # never leave the file locked
        if self._duck is not None:
            if self._file is None:
                # only memory to free (~5 ms, without the interpreter lock): the caller need
                # not wait for it; the process still waits for it at exit
                try:
                    _closer().submit(_close_quietly, self._duck)
                except RuntimeError:  # no thread to be had (a limit, or the process exiting)
                    self._duck.close()
            else:
                self._duck.close()

    # --- statements -----------------------------------------------------------------------

    def execute(self, sql: str, variables: Mapping[str, Any] | None = None) -> Result:
        return self._masked(sql, variables, lambda plan: _execute.run(plan, self))

    def plan_sql(self, sql: str, variables: Mapping[str, Any] | None = None) -> Plan:
        """The plan of SQL text (templates filled), sending nothing but what planning reads
        (an INSERT's SELECT): what the shell asks before a bulk write, and deploy's plan."""
        return self._masked(sql, variables, lambda plan: plan)

    def _masked(
        self, sql: str, variables: Mapping[str, Any] | None, then: Callable[[Plan], Any]
    ) -> Any:
        values = {**self.variables, **(variables or {})}
        try:
            text = templates.render(sql, values)
            return then(self.plan(parser.parse(text)))
        except Error as exc:
            from oktaql._secrets import mask_error  # an error never repeats a secret

            raise mask_error(exc, sql, values) from None
        except Exception as exc:
            if _is_duck_error(exc):
                from oktaql._secrets import mask_error

                raise mask_error(_duck_error(exc), sql, values) from None
            raise

    def plan(self, stmt: parser.Statement) -> Plan:
        """The plan of a parsed statement (what EXPLAIN prints, what ``execute`` runs)."""
        return plan(stmt, self.plan_context(), self._environment())

    def _environment(self) -> Environment:
        return Environment(
            views=lambda: self.views.all(),
            source_rows=self._source_rows,
            explain=self,
            check_targets=lambda reqs: self.check_targets(reqs, bind=False),
            stream=self.stream,
            tables=self._local_objects,
        )

    def _local_objects(self) -> list[tuple[str, str, str | None]]:
        """SHOW TABLES: the session's own tables and views, (name, kind, view SQL)."""
        views = {n.lower(): (n, sql, m) for n, (sql, m) in self.views.all().items()}
        with self.local_state() as present:
            tables = (
                self.cursor()
                .execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = "
                    "current_database() AND schema_name = 'main' AND NOT internal"
                )
                .fetchall()
                if present
                else []
            )
        out: list[tuple[str, str, str | None]] = []
        for (name,) in tables:
            view = views.pop(str(name).lower(), None)  # a materialized view's rows are a table
            out.append((name, "materialized view", view[1]) if view else (name, "table", None))
        for name, sql, materialized in views.values():
            out.append((name, "materialized view" if materialized else "view", sql))
        return out

    def plan_context(self, row_params: frozenset[str] = frozenset()) -> PlanContext:
        return PlanContext(
            self.catalog,
            self.org_url,
            self._evaluate,
            {n: o.url for n, o in self.orgs.items()},
            self.pushdown,
            row_params=row_params,
        )

    def _evaluate(self, node: exp.Expression) -> Any:
        try:
            # a constant needs no file; a subquery of a local table does
            with self.local_state(write=False) if names_local_tables(node) else nullcontext():
                row = self.duck.execute("SELECT " + node.sql(dialect="duckdb")).fetchone()
        except Exception as exc:
            if _is_duck_error(exc):
                raise _duck_error(exc) from None
            raise
        return row[0] if row else None

    def _source_rows(self, source: exp.Expression, row_params: frozenset[str]) -> list[Any]:
        """The rows of an INSERT's SELECT: read through its own plan when it names a provider
        table or a view, else straight from DuckDB."""
        if any(t.args.get("catalog") for t in source.find_all(exp.Table)) or (
            names_local_tables(source) and self.views.views()
        ):
            steps = query_steps(source, self.plan_context(), self._environment())
            result = _execute.run(Plan(tuple(steps)), self)
            try:
                return result.relation.fetchall() if result.relation is not None else []
            finally:
                self.drop_scratch(result.scratch)
        with self.local_state(write=False):
            return self.duck.execute(source.sql(dialect="duckdb")).fetchall()

    def pages(
        self, scan: Scan, calls: list[Call]
    ) -> Generator[tuple[list[Any], dict[str, Any]], None, None]:
        return _execute.pages(self, scan, calls)

    def reload_provider(self) -> None:
        """After REGISTRY PULL or REMOVE: a session that named no registry reads the provider
        new sessions will use (the pulled one, or the built-in one again)."""
        if self.settings.registry is None:
            self.catalog = Catalog(_registry(pulled_registry()))

    def cache_age(self, req: Request) -> float | None:
        return self.cache.age(req)

    def drop_scratch(self, names: list[str]) -> None:
        for name in names:
            try:
                self.duck.execute(f"DROP TABLE IF EXISTS {name}")
            except Exception as exc:  # a scratch table that is already gone
                if not _is_duck_error(exc):
                    raise


_CLOSER: list[ThreadPoolExecutor] = []  # imported when first closed
_CLOSER_LOCK = threading.Lock()


def _closer() -> ThreadPoolExecutor:
    """One thread a process frees closed sessions' DuckDB (a thread per close took 0.3-2 ms
    to start); concurrent.futures waits for what it was given before the interpreter exits."""
    from concurrent.futures import ThreadPoolExecutor

    with _CLOSER_LOCK:
        if not _CLOSER:
            _CLOSER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="oktaql-close"))
        return _CLOSER[0]


def _close_quietly(duck: duckdb.DuckDBPyConnection) -> None:
    try:
        duck.close()
    except Exception:  # noqa: BLE001, S110 - an in-memory database: nothing is lost
        pass


_BUILTIN: list[Registry] = []  # the built-in registry, parsed once per process


def _registry(path: Path | None) -> Registry:
    """The registry at ``path``; the built-in one (files shipped with the package, never
    changed) is shared by every session, so a new connection does not parse it again."""
    if path is not None:
        return open_registry(path)
    if not _BUILTIN:
        _BUILTIN.append(open_registry(None))
    return _BUILTIN[0]


def _is_duck_error(exc: BaseException) -> bool:
    import sys

    duck = sys.modules.get("duckdb")
    return duck is not None and isinstance(exc, duck.Error)


# DuckDB's suggestions of its own catalog (sqlite_master, pg_tables, duckdb_*, information
# schema) for a name the user mistyped: noise, never what an oktaql user meant
_DUCK_INTERNAL = re.compile(
    r"(?i)^(sqlite_\w+|pg_\w+|duckdb_\w+|information_schema(\.\w+)?|temp\.\w+|system\.\w+)$"
)


def _duck_text(raw: str) -> str:
    """DuckDB's message as one line, plus the statement's line and a caret when it points.

    ``Catalog Error: Table with name x does not exist!\nDid you mean "pg_tables"?\n\nLINE 1:
    SELECT * FROM x\n               ^`` becomes ``Table with name x does not exist``,
    ``  SELECT * FROM x`` and ``                ^``; a suggestion of DuckDB's own catalog is
    dropped, one of the user's names is kept ("did you mean ...?")."""
    head, _, rest = raw.strip().partition("\n")
    head = re.sub(r"^[A-Z][A-Za-z ]* Error: ", "", head).rstrip("!").rstrip()
    extras: list[str] = []
    where: list[str] = []
    lines = rest.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"LINE (\d+): ?(.*)$", line)
        if m:
            caret = lines[i + 1] if i + 1 < len(lines) else ""
            offset = len("LINE ") + len(m.group(1)) + 2
            col = caret.find("^") - offset
            # the line shown is the SQL DuckDB ran (oktaql's translation), so no line number
            where = [f"  {m.group(2)}"] + ([" " * (col + 2) + "^"] if col >= 0 else [])
            break
        hint = re.match(r'Did you mean "([^"]+)"\?', line.strip())
        if hint and not _DUCK_INTERNAL.match(hint.group(1)):
            extras.append(f'did you mean "{hint.group(1)}"?')
        cand = re.match(r"Candidate bindings: (.+)$", line.strip())
        if cand:
            extras.append(f"columns there: {cand.group(1)}")
    return "\n".join([head + "".join(f"; {e}" for e in extras), *where])


def _duck_error(exc: Exception) -> Error:
    import duckdb

    text = _duck_text(str(exc))
    if isinstance(exc, (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException)):
        return ProgrammingError(text)
    if isinstance(exc, duckdb.ConversionException):
        from oktaql.errors import DataError

        return DataError(text)
    if isinstance(exc, duckdb.InterruptException):
        return OperationalError("interrupted")
    return DatabaseError(text)


__all__ = ["NamedOrg", "Result", "Session"]
