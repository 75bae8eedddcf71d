"""A session: settings, the DuckDB engine, and running statements end to end.

parse → plan → HTTP → DuckDB → result. EXPLAIN stops after planning and sends nothing.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from sqlglot import exp

from oktaql import local, meta, parser, templates
from oktaql._cache import ResponseCache
from oktaql._http import HTTPClient, Request, RetryPolicy, decode_json, origin, show_origin
from oktaql._loading import TableSink, infer_columns
from oktaql._progress import PROGRESS_MIN_CALLS, progress_for
from oktaql.binding import check_org_url
from oktaql.catalog import Catalog
from oktaql.errors import (
    APIError,
    ConfigError,
    DatabaseError,
    Error,
    OperationalError,
    ProgrammingError,
)
from oktaql.planning import (
    MISSING,
    Call,
    PlanContext,
    QueryPlan,
    Scan,
    WritePlan,
    dependency_groups,
    dependent_calls,
    dotted,
    insert_target,
    literal,
    plan_delete,
    plan_exec,
    plan_insert_rows,
    plan_query,
    plan_update,
)
from oktaql.provider import Method, open_registry
from oktaql.provider._model import object_key_parts
from oktaql.registry_pull import pulled_registry

if TYPE_CHECKING:
    from concurrent.futures import Future

    # DuckDB loads on first use: EXPLAIN of a provider query never needs it
    import duckdb
    import httpx

    from oktaql import _stream

AWAIT_TIMEOUT = 300.0
PENDING_STATES = {"IN_PROGRESS", "PENDING", "QUEUED", "RUNNING", "SCHEDULED"}
EXPLAIN_COLUMNS = ["step", "resource", "operation", "method", "url", "headers", "body", "note"]
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


@dataclass
class Result:
    """What a statement produced: a row source (DuckDB) or literal rows, plus a status."""

    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, DuckDB type)
    rows: list[tuple[Any, ...]] | None = None
    relation: duckdb.DuckDBPyConnection | None = None  # rows still to fetch from DuckDB
    stream: Iterator[tuple[Any, ...]] | None = None  # rows still to come from the API, typed
    rowcount: int = -1
    message: str | None = None
    scratch: list[str] = field(default_factory=list)


class Session:
    def __init__(
        self,
        *,
        registry: str | os.PathLike[str] | None = None,
        org_url: str | None = None,
        token: str | None = None,
        variables: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        concurrency: int = 16,
        db: str | os.PathLike[str] | None = None,
        orgs: Mapping[str, NamedOrg] | None = None,
        pushdown: bool = True,
        cache_ttl: float = 0.0,
        progress: bool = False,
        oauth: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = None,
    ):
        self.progress = progress
        # pacing keeps a reserve of about one call per worker in flight
        self.retry = retry or RetryPolicy(pace_reserve=max(1, int(concurrency)))
        self._oauth_settings = dict(oauth) if oauth else None
        self._oauth: Any = None  # an auth.OAuthServiceApp once the default client is built
        self._pending_scopes: set[str] = set()
        self._client_lock = threading.Lock()  # fan-out threads build clients at most once
        self.pushdown = pushdown
        self.cache = ResponseCache(cache_ttl)
        self.orgs = {name: org for name, org in (orgs or {}).items()}
        for org in self.orgs.values():
            org.url = check_org_url(org.url)
        self._org_clients: dict[str, HTTPClient] = {}
        self.concurrency = max(1, int(concurrency))
        self.catalog = Catalog(
            open_registry(Path(registry) if registry is not None else pulled_registry())
        )
        url = org_url or os.environ.get(ORG_URL_ENV) or None
        self.org_url = check_org_url(url) if url else None
        # the one origin the session's own credential goes to: the org URL, or without one the
        # first org a statement names (bound when its first request is about to go)
        self._own_url: str | None = self.org_url
        self._token = token
        self.variables: dict[str, Any] = dict(variables or {})
        self._transport = transport
        self._timeout = timeout
        self._http: HTTPClient | None = None
        self._db_path = db
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
                    transport=self._transport,
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
                oauth.ensure_scopes(self._pending_scopes)
                self._oauth = oauth
                self._http = HTTPClient(
                    None,
                    origin=self._own_url,
                    auth=oauth,
                    timeout=self._timeout,
                    transport=self._transport,
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
                transport=self._transport,
                retry=self.retry,
                connections=self.concurrency,
            )
        return self._http

    def _check_targets(self, requests: Iterable[Request], bind: bool = True) -> None:
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
        """An OAuth 2.0 service app from connect(oauth=...) or the Okta SDKs' variables."""
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

    def _need_scopes(self, methods: list[Method]) -> None:
        """One access token covers the whole statement: ask for its scopes up front."""
        if (
            self._oauth_settings is None
            and self._oauth is None
            and not os.environ.get("OKTA_CLIENT_AUTHORIZATIONMODE")
        ):
            return
        from oktaql.auth import scopes_for

        self._pending_scopes.update(scopes_for(methods))
        if self._oauth is not None:
            self._oauth.ensure_scopes(self._pending_scopes)

    def auth_display(self, provider_name: str, org: str | None = None) -> str:
        """The Authorization scheme a request would carry, its credential masked."""
        if org is None and (self._oauth is not None or self._oauth_settings is not None):
            dpop = (self._oauth_settings or {}).get("dpop") or getattr(self._oauth, "dpop", False)
            return ("DPoP" if dpop else "Bearer") + " ***"
        auth = self.catalog.provider(provider_name).auth
        return str(auth.get("valuePrefix", "SSWS ")) + "***"

    @property
    def duck(self) -> duckdb.DuckDBPyConnection:
        if self._duck is None:
            self._duck = local.open_database(self._db_path)
        return self._duck

    @property
    def views(self) -> local.ViewStore:
        if self._views is None:
            self._views = local.ViewStore(self.duck)
        return self._views

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        for client in self._org_clients.values():
            client.close()
        if self._duck is not None:
            self._duck.close()

    # --- statements -----------------------------------------------------------------------

    def execute(self, sql: str, variables: Mapping[str, Any] | None = None) -> Result:
        values = {**self.variables, **(variables or {})}
        text = templates.render(sql, values)
        stmt = parser.parse(text)
        try:
            if isinstance(stmt, parser.Explain):
                return self._explain(stmt.inner)
            return self._run(stmt)
        except Exception as exc:
            if _is_duck_error(exc):
                raise _duck_error(exc) from None
            raise

    def _ctx(self, row_params: frozenset[str] = frozenset()) -> PlanContext:
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
            row = self.duck.execute("SELECT " + node.sql(dialect="duckdb")).fetchone()
        except Exception as exc:
            if _is_duck_error(exc):
                raise _duck_error(exc) from None
            raise
        return row[0] if row else None

    def plan_query(self, ast: exp.Expression) -> QueryPlan:
        views = self.views.views() if _names_local_tables(ast) else {}
        if views:
            ast = local.inline_views(ast.copy(), views, self._param_names)
        return plan_query(ast, self._ctx())

    def _param_names(self, table: exp.Table) -> set[str]:
        return self.catalog.resource(dotted(table)).param_names

    def _run(self, stmt: parser.Statement) -> Result:
        if isinstance(stmt, parser.Query):
            return self._run_query(self.plan_query(stmt.ast))
        if isinstance(stmt, parser.Local):
            return self._run_local(stmt)
        if isinstance(stmt, parser.CreateView):
            return self._create_view(stmt)
        if isinstance(stmt, parser.DropView):
            dropped = self.views.drop(stmt.name, stmt.materialized, stmt.if_exists)
            if dropped and stmt.materialized:
                self.duck.execute(f"DROP TABLE IF EXISTS {_ident(stmt.name)}")
            kind = "materialized view" if stmt.materialized else "view"
            return Result(
                rowcount=0,
                message=f"{kind} {stmt.name} dropped" if dropped else f"no {kind} {stmt.name}",
            )
        if isinstance(stmt, parser.RefreshView):
            found = self.views.get(stmt.name)
            if found is None or not found[1]:
                raise ProgrammingError(f"no materialized view named {stmt.name}")
            return self._materialize(stmt.name, parser.parse(found[0]))
        if isinstance(stmt, parser.Registry):
            from oktaql import registry_pull

            cols, rows = registry_pull.run(stmt)
            return _literal_result(cols, rows)
        if isinstance(stmt, parser.ShowInsert):
            cols, rows = meta.show_insert(stmt, self.catalog)
            return _literal_result(cols, rows)
        if isinstance(stmt, parser.Show):
            cols, rows = meta.show(stmt, self.catalog)
            return _literal_result(cols, rows)
        if isinstance(stmt, parser.Describe):
            cols, rows = meta.describe(stmt, self.catalog)
            return _literal_result(cols, rows)
        plan = self._plan_write(stmt)
        plan.await_completion = "AWAIT" in stmt.hints
        return self._run_write(plan)

    def _plan_write(self, stmt: parser.Statement) -> WritePlan:
        ctx = self._ctx()
        if isinstance(stmt, parser.Delete):
            return plan_delete(stmt.ast, ctx)
        if isinstance(stmt, parser.Update):
            return plan_update(stmt.ast, stmt.replace, ctx)
        if isinstance(stmt, parser.Exec):
            return plan_exec(
                stmt.target, stmt.args, stmt.json_body, ctx, "SHOWRESULTS" in stmt.hints
            )
        if isinstance(stmt, parser.Insert):
            res, columns = insert_target(stmt.ast, ctx)
            ctx.row_params = _row_fed(res.param_names, columns, stmt.ast.expression)
            rows = self._source_rows(stmt.ast.expression)
            for row in rows:
                if len(row) != len(columns):
                    raise ProgrammingError(
                        f"{res.id}: INSERT names {len(columns)} columns but its SELECT gives "
                        f"{len(row)} values"
                    )
            ret = stmt.ast.args.get("returning")
            return plan_insert_rows(res, columns, rows, ctx, list(ret.expressions) if ret else None)
        raise ProgrammingError(f"cannot run {type(stmt).__name__} statements")

    def _source_rows(self, source: exp.Expression) -> list[tuple[Any, ...]]:
        if any(t.args.get("catalog") for t in source.find_all(exp.Table)) or (
            _names_local_tables(source) and self.views.views()
        ):
            result = self._run_query(self.plan_query(source), streaming=False)
            rows = result.relation.fetchall() if result.relation is not None else []
            self.drop_scratch(result.scratch)
            return rows
        return self.duck.execute(source.sql(dialect="duckdb")).fetchall()

    # --- queries --------------------------------------------------------------------------

    @staticmethod
    def _projection(plan: QueryPlan) -> _stream.Projection | None:
        """How ``plan`` streams, when it only projects one scan's rows."""
        if len(plan.scans) != 1:
            return None
        from oktaql import _stream

        return _stream.streamable(plan.local_ast, plan.scans[0])

    def _run_query(self, plan: QueryPlan, streaming: bool = True) -> Result:
        self._check_targets(c.request for scan in plan.scans for c in scan.calls)
        if streaming:
            from oktaql import _stream

            projection = self._projection(plan)
            if projection is not None:
                pages = self._stream_pages(plan.scans[0])
                first = next(pages, None)  # the first request runs now: its errors belong here

                def chained() -> Iterator[tuple[list[Any], dict[str, Any]]]:
                    if first is not None:
                        yield first
                        yield from pages

                return Result(
                    columns=list(zip(projection.names, projection.types, strict=True)),
                    stream=_stream.rows(projection, chained()),
                )
        scratch: list[str] = []
        try:
            for scan in plan.scans:
                scratch.append(scan.table_name)
                self._fetch_scan(scan)
            cur = self.duck.cursor()
            cur.execute(plan.local_sql)
        except BaseException:
            self.drop_scratch(scratch)
            raise
        cols = [(d[0], str(d[1])) for d in cur.description or []]
        return Result(columns=cols, relation=cur, scratch=scratch)

    def _stream_pages(
        self, scan: Scan, calls: list[Call] | None = None
    ) -> Generator[tuple[list[Any], dict[str, Any]], None, None]:
        """(rows of each page, the call's parameters), fetched as they are consumed."""
        provider = scan.resource.id.split(".")[0]
        self._need_scopes([scan.method])
        for call in scan.calls if calls is None else calls:
            http = self.http(provider, call.request.url, call.request.org)
            for body in self.cache.pages(http, call.request, scan.resource.id):
                yield extract_rows(scan.method, body), call.bound
                del body  # let the page go before the next is fetched

    def _fetch_scan(self, scan: Scan) -> None:
        provider = scan.resource.id.split(".")[0]
        self._need_scopes([scan.method])
        calls = scan.calls
        if scan.deps:
            combos = []
            scalar = {d.param: d.source for d in scan.deps if d.scalar}
            for names, sql in dependency_groups(scan):
                rows = self.duck.execute(sql).fetchall()
                for name in names:
                    if name in scalar and len(rows) > 1:
                        # before any call: SQL would refuse it only after the fan-out
                        raise ProgrammingError(
                            f"{scan.resource.id}: {name} {scalar[name]} gives {len(rows)} "
                            f"values; a scalar subquery must give one: write {name} IN "
                            "(SELECT ...) to read them all"
                        )
                # sorted so the calls, and so the row order, never depend on timing
                combos.append((names, sorted(rows, key=lambda r: tuple(map(str, r)))))
            # the values came from rows: they may only name an org the user configured
            calls = dependent_calls(scan, combos, self._ctx(frozenset(d.param for d in scan.deps)))
            self._check_targets(c.request for c in calls)
        sink = (
            TableSink(self.duck, scan.table_name, scan.columns, scan.extra, undescribed=False)
            if scan.described
            else None
        )

        def fetch_all(call: Call) -> list[Any]:
            http = self.http(provider, call.request.url, call.request.org)
            out: list[Any] = []
            try:
                for body in self.cache.pages(http, call.request, scan.resource.id):
                    out.extend(extract_rows(scan.method, body))
            except APIError as exc:
                if scan.deps and exc.status == 404:
                    return []  # the object named by the other side is gone: no rows for it
                raise
            return out

        def append(rows: list[Any], bound: dict[str, Any]) -> None:
            nonlocal sink
            if sink is None:
                sink = TableSink(self.duck, scan.table_name, infer_columns(rows), scan.extra)
            sink.append(rows, bound)

        if len(calls) > 1 and self.concurrency > 1:
            from concurrent.futures import ThreadPoolExecutor  # 8 ms to import: fan-out only

            workers = min(self.concurrency, len(calls))
            with (
                ThreadPoolExecutor(max_workers=workers) as pool,
                progress_for(
                    self.progress and len(calls) >= PROGRESS_MIN_CALLS, scan, len(calls)
                ) as bar,
            ):
                # a sliding window of futures consumed in call order: results never depend
                # on timing, and at most a window's rows wait in memory
                window = workers * 4
                pending: deque[tuple[Call, Future[list[Any]]]] = deque()
                queue = iter(calls)
                for call in itertools.islice(queue, window):
                    pending.append((call, pool.submit(fetch_all, call)))
                while pending:
                    call, future = pending.popleft()
                    rows = future.result()
                    append(rows, call.bound)
                    bar.advance(len(rows))
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.append((nxt, pool.submit(fetch_all, nxt)))
        else:
            for rows, bound in self._stream_pages(scan, calls):
                append(rows, bound)
                if scan.row_cap is not None and sink is not None and sink.count >= scan.row_cap:
                    break  # leaving the generator stops the paging
        if sink is None:
            sink = TableSink(self.duck, scan.table_name, [], scan.extra)
        sink.flush()

    # --- local statements, views --------------------------------------------------------

    def _run_local(self, stmt: parser.Local) -> Result:
        plan = self.plan_query(stmt.ast)
        result = self._run_query(plan, streaming=False)
        cols = result.columns
        if cols and cols[0][0] == "Count" and len(cols) == 1 and result.relation is not None:
            # DuckDB answers DDL/DML with a row count; report it as a status instead
            row = result.relation.fetchone()
            self.drop_scratch(result.scratch)
            n = int(row[0]) if row and row[0] is not None else 0
            return Result(rowcount=n, message=f"{n} row(s) affected")
        if not cols:
            self.drop_scratch(result.scratch)
            return Result(rowcount=0, message="done")
        return result

    def _create_view(self, stmt: parser.CreateView) -> Result:
        if stmt.materialized:
            existing = self.views.get(stmt.name)
            if existing is not None and not stmt.or_replace:
                raise ProgrammingError(
                    f"materialized view {stmt.name} already exists: use CREATE OR REPLACE, "
                    "REFRESH MATERIALIZED VIEW, or DROP it first"
                )
            if existing is None and self.views.is_table(stmt.name.lower()):
                raise ProgrammingError(
                    f"a table named {stmt.name} already exists: choose another view name"
                )
            body = parser.parse(stmt.body_sql)
            result = self._materialize(stmt.name, body)
            self.views.put(stmt.name, stmt.body_sql, True, replace=True, check_table=False)
            return result
        self.views.put(stmt.name, stmt.body_sql, False, replace=stmt.or_replace)
        return Result(rowcount=0, message=f"view {stmt.name} created")

    def _materialize(self, name: str, body: parser.Statement) -> Result:
        if not isinstance(body, parser.Query):
            raise ProgrammingError(f"materialized view {name}: the body must be a query")
        plan = self.plan_query(body.ast)
        self._check_targets(c.request for scan in plan.scans for c in scan.calls)
        scratch: list[str] = []
        try:
            for scan in plan.scans:
                scratch.append(scan.table_name)
                self._fetch_scan(scan)
            self.duck.execute(f"CREATE OR REPLACE TABLE {_ident(name)} AS {plan.local_sql}")
        finally:
            self.drop_scratch(scratch)
        row = self.duck.execute(f"SELECT count(*) FROM {_ident(name)}").fetchone()
        n = int(row[0]) if row else 0
        return Result(rowcount=n, message=f"materialized view {name}: {n} row(s) stored")

    def drop_scratch(self, names: list[str]) -> None:
        for name in names:
            try:
                self.duck.execute(f"DROP TABLE IF EXISTS {name}")
            except Exception as exc:  # a scratch table that is already gone
                if not _is_duck_error(exc):
                    raise

    # --- writes ---------------------------------------------------------------------------

    def _await(self, http: HTTPClient, req: Request, resp: httpx.Response) -> httpx.Response:
        """/*+ AWAIT */: poll an accepted (202) operation's Location until it is done."""
        location = resp.headers.get("Location")
        if not location:
            return resp
        deadline = time.monotonic() + AWAIT_TIMEOUT
        delay = 0.2
        target = urljoin(req.url, location)
        if origin(target) != origin(req.url):
            # the credential goes only to its own origin, whatever a response names
            raise OperationalError(
                f"{req.describe()}: accepted (202), but its Location points at another origin "
                f"({show_origin(target)}); refusing to send the credential there, so the "
                "operation was not awaited: check its outcome in the org"
            )
        poll = Request("GET", target, org=req.org)
        while True:
            current = http.send(poll)
            body = decode_json(poll, current)
            state = str(body.get("status", "")).upper() if isinstance(body, dict) else ""
            if current.status_code != 202 and state not in PENDING_STATES:
                return current
            if time.monotonic() > deadline:
                raise OperationalError(
                    f"{req.describe()}: still running after {AWAIT_TIMEOUT:.0f} s "
                    f"(polling {poll.url}); run the statement without /*+ AWAIT */ to not wait"
                )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _run_write(self, plan: WritePlan) -> Result:
        provider = plan.resource.id.split(".")[0]
        self._need_scopes([plan.method])
        self._check_targets(c.request for c in plan.calls)
        bodies: list[Any] = []
        done: list[Call] = []
        for call in plan.calls:
            http = self.http(provider, call.request.url, call.request.org)
            try:
                resp = http.send(call.request)
                if plan.await_completion and resp.status_code == 202:
                    resp = self._await(http, call.request, resp)
            except Error as exc:
                if done:
                    # say exactly which objects were already changed: a known end state
                    exc.args = (
                        f"{exc}\n{len(done)} of {len(plan.calls)} requests had succeeded before "
                        "this one: " + "; ".join(c.request.describe() for c in done),
                    )
                raise
            done.append(call)
            self.cache.invalidate(plan.resource.id, call.request.url)
            bodies.append(decode_json(call.request, resp))
        verb = plan.verb.upper()
        message = f"{verb} {plan.resource.id}: {len(done)} request(s) sent ({plan.method.name})"
        want_rows = plan.returning is not None or (
            plan.verb == "exec" and (plan.show_results or plan.method.http_method == "GET")
        )
        if not want_rows:
            return Result(rowcount=len(done), message=message)
        rows: list[Any] = []
        for body in bodies:
            rows.extend(extract_rows(plan.method, body))
        table = "oktaql_scratch.returning"
        columns = plan.method.columns or infer_columns(rows)
        sink = TableSink(self.duck, table, columns)
        sink.append(rows)
        sink.flush()
        if plan.returning:
            proj = ", ".join(e.sql(dialect="duckdb") for e in plan.returning)
        else:
            proj = "*"
        cur = self.duck.cursor()
        cur.execute(f"SELECT {proj} FROM {table}")
        cols = [(d[0], str(d[1])) for d in cur.description or []]
        return Result(
            columns=cols, relation=cur, rowcount=len(done), message=message, scratch=[table]
        )

    # --- EXPLAIN --------------------------------------------------------------------------

    def _explain(self, stmt: parser.Statement) -> Result:
        rows: list[tuple[Any, ...]] = []
        if isinstance(stmt, (parser.Query, parser.Local, parser.CreateView, parser.RefreshView)):
            if isinstance(stmt, parser.CreateView) and not stmt.materialized:
                rows.append(
                    (
                        1,
                        None,
                        "metadata",
                        None,
                        None,
                        None,
                        stmt.body_sql,
                        "stores the view; no request",
                    )
                )
                return _literal_result(EXPLAIN_COLUMNS, rows)
            if isinstance(stmt, parser.RefreshView):
                found = self.views.get(stmt.name)
                if found is None or not found[1]:
                    raise ProgrammingError(f"no materialized view named {stmt.name}")
                stmt = parser.parse(found[0])
            elif isinstance(stmt, parser.CreateView):
                stmt = parser.parse(stmt.body_sql)
            if not isinstance(stmt, (parser.Query, parser.Local)):
                raise ProgrammingError("a view's body must be a query")
            plan = self.plan_query(stmt.ast)
            self._check_targets((c.request for s in plan.scans for c in s.calls), bind=False)
            step = 0
            for scan in plan.scans:
                note = "pages followed via Link rel=next" if scan.method.is_paged else ""
                if scan.row_cap is not None:
                    note = (note + "; " if note else "") + f"stops after {scan.row_cap} rows"
                if scan.pushed:
                    note = (
                        note + "; " if note else ""
                    ) + f"filter pushed to the API: {scan.pushed}"
                if scan.pushed_note:
                    note = (note + "; " if note else "") + scan.pushed_note
                for call in scan.calls:
                    step += 1
                    age = self.cache.age(call.request)
                    # the cache note is this call's own: it must not carry over to the next
                    call_note = note
                    if age is not None:
                        call_note = (
                            note + "; " if note else ""
                        ) + f"cached response reused (age {age:.0f} s)"
                    rows.append(
                        self._explain_row(
                            step, scan.resource.id, scan.method, call.request, call_note
                        )
                    )
                if scan.deps:
                    step += 1
                    per = " x ".join(f"{d.param} from {d.source}" for d in scan.deps)
                    url = self._url_template(scan)
                    rows.append(
                        (
                            step,
                            scan.resource.id,
                            scan.method.name,
                            scan.method.http_method,
                            url,
                            json.dumps(
                                {"Authorization": self.auth_display(scan.resource.id.split(".")[0])}
                            ),
                            None,
                            f"once per distinct value of {per}, after the steps above"
                            + (f"; {note}" if note else ""),
                        )
                    )
            if self._projection(plan) is not None:
                rows.append(
                    (
                        step + 1,
                        None,
                        "stream",
                        None,
                        None,
                        None,
                        None,
                        "rows go from the API straight to the caller, typed: DuckDB is not used",
                    )
                )
            else:
                rows.append(
                    (step + 1, None, "local", None, None, None, plan.local_sql, "runs in DuckDB")
                )
        elif isinstance(
            stmt,
            (parser.Show, parser.Describe, parser.ShowInsert, parser.Registry, parser.DropView),
        ):
            rows.append(
                (
                    1,
                    None,
                    "metadata",
                    None,
                    None,
                    None,
                    None,
                    "answered from the provider, no request",
                )
            )
        else:
            write = self._plan_write(stmt)
            self._check_targets((c.request for c in write.calls), bind=False)
            for i, call in enumerate(write.calls, 1):
                rows.append(self._explain_row(i, write.resource.id, write.method, call.request, ""))
        return _literal_result(EXPLAIN_COLUMNS, rows)

    def _url_template(self, scan: Scan) -> str:
        """A dependent step's URL with what is known filled in: the org, literal values."""
        from oktaql.binding import base_url

        known = {k: v[0] for k, v in scan.literal_bound.items() if len(v) == 1}
        try:
            base, _ = base_url(
                scan.method, known, self.org_url, "", {n: o.url for n, o in self.orgs.items()}
            )
        except Error:
            base = self.org_url or scan.method.server_url.rstrip("/")
        return base + scan.method.path

    def _explain_row(
        self, step: int, rid: str, method: Method, req: Request, note: str
    ) -> tuple[Any, ...]:
        headers = {"Authorization": self.auth_display(rid.split(".")[0], req.org), **req.headers}
        from oktaql._secrets import mask_json  # EXPLAIN and --dry-run never show a secret

        body = json.dumps(mask_json(req.body)) if req.has_body else None
        return (step, rid, method.name, req.method, req.url, json.dumps(headers), body, note)


def _row_fed(params: Collection[str], columns: list[str], source: exp.Expression) -> frozenset[str]:
    """The parameters an INSERT's rows take from data (a table, the API), not from the
    statement's text: a column whose SELECT item is not a literal, once the source reads
    anything (``FROM``)."""
    if source.find(exp.From) is None:
        return frozenset()  # SELECT 'x', 'acme' / VALUES: all written in the statement
    lookup = {p.lower(): p for p in params}
    items = source.expressions if isinstance(source, exp.Select) else []
    positional = len(items) == len(columns) and not any(
        isinstance(i, exp.Star) or (isinstance(i, exp.Column) and isinstance(i.this, exp.Star))
        for i in items
    )
    fed: set[str] = set()
    for i, name in enumerate(columns):
        pname = lookup.get(name.lower())
        if pname is None:
            continue
        if positional and literal(items[i].unalias()) is not MISSING:
            continue
        fed.add(pname)
    return frozenset(fed)


def _ident(name: str) -> str:
    return ".".join(exp.to_identifier(p).sql(dialect="duckdb") for p in name.split("."))


def extract_rows(method: Method, body: Any) -> list[Any]:
    if body is None:
        return []
    if method.object_key and isinstance(body, dict):
        node: Any = body
        for part in object_key_parts(method.object_key):
            if isinstance(node, dict):
                node = node.get(part)
            else:
                node = None
                break
        body = node if node is not None else []
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    return [{"value": body}]


def _literal_result(cols: list[str], rows: list[tuple[Any, ...]]) -> Result:
    types = []
    for i, _ in enumerate(cols):
        sample = next((r[i] for r in rows if r[i] is not None), None)
        if isinstance(sample, bool):
            types.append("BOOLEAN")
        elif isinstance(sample, int):
            types.append("BIGINT")
        else:
            types.append("VARCHAR")
    return Result(columns=list(zip(cols, types)), rows=rows, rowcount=len(rows))


def _names_local_tables(ast: exp.Expression) -> bool:
    """Whether a statement names a table that is not a provider resource (a view, a table)."""
    return any(not t.args.get("catalog") for t in ast.find_all(exp.Table))


def _is_duck_error(exc: BaseException) -> bool:
    import sys

    duck = sys.modules.get("duckdb")
    return duck is not None and isinstance(exc, duck.Error)


def _duck_error(exc: Exception) -> Error:
    import duckdb

    text = str(exc).strip()
    if isinstance(exc, (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException)):
        return ProgrammingError(text)
    if isinstance(exc, duckdb.ConversionException):
        from oktaql.errors import DataError

        return DataError(text)
    if isinstance(exc, duckdb.InterruptException):
        return OperationalError("interrupted")
    return DatabaseError(text)


__all__ = ["NamedOrg", "Result", "Session"]
