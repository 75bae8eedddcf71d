"""``oktaql mcp``: the MCP SDK's own client against the server in a process of its own.

The server runs as ``oktaql mcp`` over stdio (and once over streamable HTTP) against an
emulated org started here, so every request it sends is counted at the emulator: explain sends
none, query sends what its plan says, a write is refused before anything is sent unless
``--allow-writes`` and ``confirm: true``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from click.testing import CliRunner
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import CallToolResult

import oktaql
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, start_in_thread

CLI = "from oktaql.cli import main; main()"
TIMEOUT = 60.0
JOIN = (
    "SELECT a.label, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
)


def _env(emu: Any = None) -> dict[str, str]:
    """What the server process needs: our source first on the path, the scratch folders of
    conftest, the emulator's token (the SDK passes only a few variables on by itself)."""
    keep = ("PYTHONPATH", "OKTAQL_CACHE_DIR", "XDG_DATA_HOME", "PATH", "HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    if emu is not None:
        env["OKTA_API_TOKEN"] = emu.config.token
    return env


class Server:
    """One MCP client session with a running ``oktaql mcp``, driven from synchronous tests."""

    def __init__(self, portal: BlockingPortal, client: Client):
        self.portal = portal
        self.client = client

    def tools(self) -> dict[str, Any]:
        listed = self.portal.call(self.client.list_tools)
        return {t.name: t for t in listed.tools}

    def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        result: CallToolResult = self.portal.call(self.client.call_tool, name, arguments)
        return result

    def answer(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tool's answer, which must not be an error; its text is the same JSON."""
        result = self.call(name, arguments)
        text = result.content[0].text  # type: ignore[union-attr]
        assert not result.is_error, text
        assert result.structured_content is not None
        assert json.loads(text) == result.structured_content
        return result.structured_content

    def error(self, name: str, arguments: dict[str, Any]) -> str:
        result = self.call(name, arguments)
        assert result.is_error, result
        text: str = result.content[0].text  # type: ignore[union-attr]
        assert "Traceback" not in text
        return text


@contextmanager
def mcp_server(emu: Any, *flags: str) -> Iterator[Server]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", CLI, "mcp", "--org-url", emu.url, "--db", ":memory:", *flags],
        env=_env(emu),
    )
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(params, read_timeout_seconds=TIMEOUT)) as client,
    ):
        yield Server(portal, client)


@pytest.fixture(scope="module")
def org() -> Iterator[Any]:
    """An org for the read-only tests of this module (its request log is theirs)."""
    with start_in_thread(EmulatorConfig(token="mcp-test-token")) as emu:
        yield emu


@pytest.fixture(scope="module")
def reader(org: Any) -> Iterator[Server]:
    with mcp_server(org, "--max-rows", "5") as server:
        yield server


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the tools offered ---------------------------------------------------------------------


def test_read_only_server_lists_four_tools_each_saying_its_cost(reader: Server) -> None:
    tools = reader.tools()
    assert sorted(tools) == ["describe", "explain", "list_resources", "query"]  # no execute
    for name in ("list_resources", "describe", "explain"):
        assert "Cost: no API calls" in (tools[name].description or "")
    assert "Cost: the API calls its plan lists" in (tools["query"].description or "")
    assert "run explain first" in (tools["query"].description or "")
    assert tools["query"].annotations is not None and tools["query"].annotations.read_only_hint
    assert tools["query"].input_schema["required"] == ["sql"]


def test_list_resources_and_describe_answer_from_the_provider(reader: Server, org: Any) -> None:
    org.reset_log()
    listed = reader.answer("list_resources", {"service": "apps"})
    (provider,) = listed["providers"]
    (apps,) = provider["services"]
    assert apps["service"] == "okta.apps"
    tokens = next(r for r in apps["resources"] if r["resource"] == "okta.apps.tokens")
    assert tokens["verbs"] == ["SELECT", "DELETE"]
    assert tokens["description"].startswith("OAuth 2.0 refresh tokens")
    everything = reader.answer("list_resources", {})
    assert len(everything["providers"][0]["services"]) > 1

    described = reader.answer("describe", {"resource": "okta.apps.tokens"})
    columns = {c["name"]: c["type"] for c in described["columns"]}
    assert columns["id"] == "string" and columns["scopes"] == "array"
    assert described["select_needs"] == ["appId"]
    revoke = [m for m in described["methods"] if m["sql_verb"] == "DELETE"]
    assert {m["http"] for m in revoke} == {
        "DELETE /api/v1/apps/{appId}/tokens",
        "DELETE /api/v1/apps/{appId}/tokens/{tokenId}",
    }
    assert org.request_log == []  # the provider answered both

    text = reader.error("describe", {"resource": "okta.apps.tokenz"})
    assert text.startswith("error: unknown resource okta.apps.tokenz (did you mean tokens?)")
    assert "unknown service 'nope'" in reader.error("list_resources", {"service": "nope"})


# --- query -----------------------------------------------------------------------------------


def test_query_answers_typed_json_with_the_exact_rows(reader: Server, org: Any) -> None:
    org.reset_log()
    got = reader.answer(
        "query",
        {
            "sql": "SELECT id, label, created, settings, features FROM okta.apps.applications "
            "ORDER BY id",
            "max_rows": 100,  # above the server's --max-rows 5: the server's cap holds
        },
    )
    assert got["columns"] == [
        {"name": "id", "type": "VARCHAR"},
        {"name": "label", "type": "VARCHAR"},
        {"name": "created", "type": "TIMESTAMP WITH TIME ZONE"},
        {"name": "settings", "type": "JSON"},
        {"name": "features", "type": "JSON"},
    ]
    apps = sorted(org.org.apps, key=lambda a: a["id"])
    assert len(apps) > 5
    want = [
        [a["id"], a["label"], _instant(a["created"]), a["settings"], a["features"]] for a in apps
    ]
    rows = [[i, label, _instant(c), s, f] for i, label, c, s, f in got["rows"]]
    assert rows == want[:5]
    assert got["row_count"] == 5 and got["truncated"] is True
    assert "stopped at 5 rows" in got["message"] and "--max-rows 5" in got["message"]
    assert [m for m, _, _ in org.request_log] == ["GET"]  # one page of apps

    counted = reader.answer("query", {"sql": "SELECT count(*) AS n FROM okta.apps.applications"})
    assert counted["columns"] == [{"name": "n", "type": "BIGINT"}]
    assert counted["rows"] == [[len(apps)]] and counted["truncated"] is False


def test_a_fan_out_query_returns_what_the_python_api_returns(reader: Server, org: Any) -> None:
    sql = JOIN + " ORDER BY a.label, t.id"
    with oktaql.connect(org_url=org.url, token=org.config.token) as conn:
        want = [list(r) for r in conn.execute(sql).fetchall()]
    got = reader.answer("query", {"sql": sql, "max_rows": 3})
    assert got["rows"] == want[:3] and got["truncated"] is (len(want) > 3)


def test_query_refuses_what_changes_anything_before_sending(reader: Server, org: Any) -> None:
    app = org.org.oidc_apps[0]["id"]
    org.reset_log()
    text = reader.error("query", {"sql": f"DELETE FROM okta.apps.tokens WHERE appId = '{app}'"})
    assert text.startswith(
        "error: query runs read-only statements, and this one changes something: DELETE "
        "okta.apps.tokens (revoke_oauth2_tokens_for_application): 1 request; nothing was sent"
    )
    assert "--allow-writes" in text
    text = reader.error("query", {"sql": "CREATE VIEW v AS SELECT 1 AS x"})
    assert "stores view v" in text
    assert org.request_log == []
    # the write tool is not there at all
    assert "execute" in reader.error("execute", {"sql": "SELECT 1", "confirm": True})
    assert org.request_log == []
    assert org.org.tokens_for_app(app)  # nothing revoked


def test_errors_are_oktaql_text_and_never_show_the_token(reader: Server, org: Any) -> None:
    text = reader.error("query", {"sql": "SELEC 1"})
    assert text.startswith("error: unknown statement 'SELEC'")
    text = reader.error("query", {"sql": "SELECT id FROM okta.apps.tokens"})
    assert text == "error: okta.apps.tokens: SELECT needs appId"
    assert "one statement per call" in reader.error("query", {"sql": "SELECT 1; SELECT 2"})
    explained = reader.call("explain", {"sql": JOIN})
    assert org.config.token not in explained.content[0].text  # type: ignore[union-attr]


# --- explain ---------------------------------------------------------------------------------


def test_explain_sends_no_request_and_counts_the_calls(reader: Server, org: Any) -> None:
    org.reset_log()
    got = reader.answer("explain", {"sql": JOIN})
    assert org.request_log == []
    assert got["api_calls"] == 1 and got["fans_out"] is True and got["changes"] == []
    assert "one call to okta.apps.tokens per distinct value of appId" in got["calls"]
    first, fan_out, local = got["steps"]
    assert (first["method"], first["url"]) == ("GET", f"{org.url}/api/v1/apps?limit=200")
    assert first["headers"] == {"Authorization": "SSWS ***"}
    assert fan_out["url"] == f"{org.url}/api/v1/apps/{{appId}}/tokens?limit=200"
    assert local["operation"] == "local"

    app = org.org.oidc_apps[0]["id"]
    write = reader.answer("explain", {"sql": f"DELETE FROM okta.apps.tokens WHERE appId = '{app}'"})
    assert write["api_calls"] == 1 and write["changes"] == [
        "DELETE okta.apps.tokens (revoke_oauth2_tokens_for_application): 1 request"
    ]
    assert org.request_log == []


# --- execute, only with --allow-writes -------------------------------------------------------


def test_execute_answers_the_plan_and_runs_only_when_confirmed(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    app = emu.org.oidc_apps[0]["id"]
    token = emu.org.tokens_for_app(app)[0]["id"]
    sql = f"DELETE FROM okta.apps.tokens WHERE appId = '{app}' AND tokenId = '{token}'"
    path = f"/api/v1/apps/{app}/tokens/{token}"
    with mcp_server(emu, "--allow-writes") as server:
        tools = server.tools()
        assert "execute" in tools
        assert tools["execute"].annotations is not None
        assert tools["execute"].annotations.destructive_hint is True
        emu.reset_log()

        # a confirm of a statement whose plan was never shown shows it, and sends nothing
        unseen = server.answer("execute", {"sql": sql, "confirm": True})
        assert unseen["sent"] is False
        assert unseen["message"].startswith(
            "nothing was sent: confirm needs the plan_id of the plan you were shown"
        )
        guessed = server.answer("execute", {"sql": sql, "confirm": True, "plan_id": "guess"})
        assert guessed["message"].startswith("nothing was sent: its plan was not shown before")
        planned = server.answer("execute", {"sql": sql})
        assert planned["sent"] is False and "confirm: true" in planned["message"]
        assert f"plan_id: {planned['plan_id']}" in planned["message"]
        assert len({unseen["plan_id"], guessed["plan_id"], planned["plan_id"]}) == 3
        (step,) = planned["steps"]
        assert (step["method"], step["url"]) == ("DELETE", emu.url + path)
        assert planned["changes"] == [
            "DELETE okta.apps.tokens (revoke_oauth2_token_for_application): 1 request"
        ]
        assert emu.request_log == []  # nothing sent without confirm
        # query stays read-only with --allow-writes too, and points at execute
        assert "use the execute tool" in server.error("query", {"sql": sql})
        assert emu.request_log == []

        # a plan_id is for the statement it was shown for
        other = server.answer(
            "execute",
            {"sql": sql.replace(token, "nope"), "confirm": True, "plan_id": planned["plan_id"]},
        )
        assert other["sent"] is False and emu.request_log == []
        planned = server.answer("execute", {"sql": sql})
        done = server.answer(
            "execute", {"sql": sql, "confirm": True, "plan_id": planned["plan_id"]}
        )
        assert done == {
            "columns": [],
            "rows": [],
            "rowcount": 1,
            "message": "DELETE okta.apps.tokens: 1 request(s) sent "
            "(revoke_oauth2_token_for_application)",
            "sent": True,
        }
        assert [(m, p) for m, p, _ in emu.request_log] == [("DELETE", path)]
    assert token not in [t["id"] for t in emu.org.tokens_for_app(app)]


def test_a_confirm_runs_only_the_requests_that_were_shown(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    # the group's name counts the groups: its body changes when another group appears
    sql = (
        "INSERT INTO okta.groups.groups (data__profile) "
        "SELECT json_object('name', 'team-' || count(*)) FROM okta.groups.groups"
    )
    n = len(emu.org.groups)
    posts = lambda: [p for m, p, _ in emu.request_log if m == "POST"]  # noqa: E731
    with mcp_server(emu, "--allow-writes") as server:
        shown = server.answer("execute", {"sql": sql})
        assert shown["steps"][0]["body"] == json.dumps({"profile": {"name": f"team-{n}"}})
        with oktaql.connect(org_url=emu.url, token=emu.config.token) as other:
            other.execute('INSERT INTO okta.groups.groups (data__profile) SELECT \'{"name":"x"}\'')
        emu.reset_log()
        changed = server.answer(
            "execute", {"sql": sql, "confirm": True, "plan_id": shown["plan_id"]}
        )
        assert changed["sent"] is False
        assert changed["message"].startswith(
            "nothing was sent: its plan changed since it was shown"
        )
        assert changed["steps"][0]["body"] == json.dumps({"profile": {"name": f"team-{n + 1}"}})
        assert posts() == []
        done = server.answer(
            "execute", {"sql": sql, "confirm": True, "plan_id": changed["plan_id"]}
        )
        assert done["sent"] is True and posts() == ["/api/v1/groups"]
    assert [g["profile"]["name"] for g in emu.org.groups][-1] == f"team-{n + 1}"


# --- streamable HTTP -------------------------------------------------------------------------


@contextmanager
def http_server(args: list[str], env: dict[str, str]) -> Iterator[str]:
    """``oktaql mcp --transport http --port 0 ARGS``: its URL, once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "mcp", "--transport", "http", "--port", "0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        while not lines or "listening on" not in lines[-1]:
            line = proc.stderr.readline()
            assert line, f"the server ended: {''.join(lines)}"
            lines.append(line)
        yield lines[-1].split("listening on ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)


def test_streamable_http_serves_the_same_tools() -> None:
    # --emulator as the README's try-it config has it: the default seeded org, in process
    with start_in_thread(EmulatorConfig()) as twin:
        apps = len(twin.org.apps)
    with (
        http_server(["--emulator", "--db", ":memory:"], _env()) as url,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(url, read_timeout_seconds=TIMEOUT)) as c,
    ):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        server = Server(portal, c)
        assert sorted(server.tools()) == ["describe", "explain", "list_resources", "query"]
        got = server.answer("query", {"sql": "SELECT count(*) AS n FROM okta.apps.applications"})
        assert got["rows"] == [[apps]]


def test_http_clients_each_have_their_own_plans_and_cancels(fresh_emulator: Any) -> None:
    """Two MCP clients of one HTTP server: a plan shown to one is not confirmable by the
    other (MCP 2026-07-28 has no session id: the plan_id handed to the client shown the plan is
    the proof), and one's cancelled fan-out stops while the other's runs to its end."""
    emu = fresh_emulator
    app = emu.org.oidc_apps[0]["id"]
    token = emu.org.tokens_for_app(app)[0]["id"]
    sql = f"DELETE FROM okta.apps.tokens WHERE appId = '{app}' AND tokenId = '{token}'"
    deletes = lambda: [p for m, p, _ in emu.request_log if m == "DELETE"]  # noqa: E731
    with (
        http_server(
            ["--org-url", emu.url, "--db", ":memory:", "--allow-writes", "--concurrency", "1"],
            _env(emu),
        ) as url,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(url, read_timeout_seconds=TIMEOUT)) as one,
        portal.wrap_async_context_manager(Client(url, read_timeout_seconds=TIMEOUT)) as two,
    ):
        alice, bob = Server(portal, one), Server(portal, two)
        shown = alice.answer("execute", {"sql": sql})
        assert shown["sent"] is False
        emu.reset_log()
        # bob was never shown that plan: his confirm shows it to him and sends nothing, and
        # the plan he is shown is his own (alice's plan_id is not his)
        refused = bob.answer("execute", {"sql": sql, "confirm": True})
        assert refused["sent"] is False
        assert refused["message"].startswith("nothing was sent: confirm needs the plan_id")
        assert refused["plan_id"] != shown["plan_id"]
        assert deletes() == []
        done = alice.answer("execute", {"sql": sql, "confirm": True, "plan_id": shown["plan_id"]})
        assert done["sent"] is True and done["rowcount"] == 1
        assert deletes() == [f"/api/v1/apps/{app}/tokens/{token}"]

        # alice gives up on a slow fan-out; bob's, running at the same time, is whole
        want = len(_direct_join(emu))
        emu.config.latency_ms = 200
        emu.reset_log()

        async def both() -> tuple[BaseException | None, dict[str, Any]]:
            import anyio

            failure: list[BaseException] = []
            answer: list[Any] = []

            async def cancelled() -> None:
                try:
                    await one.call_tool("query", {"sql": JOIN}, read_timeout_seconds=0.6)
                except MCPError as exc:
                    failure.append(exc)

            async def whole() -> None:
                answer.append(await two.call_tool("query", {"sql": JOIN, "max_rows": 10_000}))

            async with anyio.create_task_group() as tg:
                tg.start_soon(cancelled)
                tg.start_soon(whole)
            return (failure[0] if failure else None), answer[0].structured_content

        failure, answer = portal.call(both)
        assert isinstance(failure, MCPError) and "timed out" in str(failure)
        assert answer["row_count"] == want  # bob's fan-out went on to its end
        time.sleep(0.5)
        reads = sum("/tokens" in p for _, p, _ in emu.request_log)
        # bob's calls: one per app; alice's stopped part way
        assert len(emu.org.apps) <= reads < 2 * len(emu.org.apps)


def _direct_join(emu: Any) -> list[tuple[Any, ...]]:
    with oktaql.connect(org_url=emu.url, token=emu.config.token) as conn:
        return conn.execute(JOIN).fetchall()


# --- the command line ------------------------------------------------------------------------


def test_http_listens_on_loopback_only_and_stdio_takes_no_port() -> None:
    res = CliRunner().invoke(main, ["mcp", "--transport", "http", "--host", "0.0.0.0"])
    assert res.exit_code == 1
    assert "error: --host 0.0.0.0: the MCP server listens on loopback only" in res.output
    res = CliRunner().invoke(main, ["mcp", "--port", "9000"])
    assert res.exit_code == 1
    assert "error: --port is for --transport http (stdio listens nowhere)" in res.output


def test_without_the_sdk_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)  # import fails
    res = CliRunner().invoke(main, ["mcp", "--emulator"])
    assert res.exit_code == 1
    assert "error: oktaql mcp needs the MCP Python SDK (mcp>=2.3): pip install 'oktaql[mcp]'" in (
        res.output
    )
    assert "Traceback" not in res.output


# --- a client's cancel ---------------------------------------------------------------------


def test_a_cancelled_call_stops_its_requests_and_the_next_call_runs() -> None:
    with (
        start_in_thread(EmulatorConfig(token="slow", latency_ms=200)) as emu,
        mcp_server(emu, "--concurrency", "1") as server,
    ):
        emu.reset_log()
        # the client gives up: it sends notifications/cancelled, the server stops the fan-out
        with pytest.raises(MCPError, match="timed out"):
            server.portal.call(
                lambda: server.client.call_tool("query", {"sql": JOIN}, read_timeout_seconds=0.8)
            )
        time.sleep(0.5)  # a request in flight at the cancel is abandoned
        sent = len(emu.request_log)
        time.sleep(0.6)
        assert len(emu.request_log) == sent  # and nothing more is sent
        assert sent < 1 + len(emu.org.apps)  # the fan-out stopped part way
        got = server.answer("query", {"sql": "SELECT count(*) AS n FROM okta.apps.applications"})
        assert got["rows"] == [[len(emu.org.apps)]]


# --- the tools' work without the SDK ---------------------------------------------------------


def test_dry_run_answers_plans_and_sends_nothing(org: Any) -> None:
    from oktaql.mcp._tools import ToolOptions, Tools

    app = org.org.oidc_apps[0]["id"]
    with oktaql.connect(org_url=org.url, token=org.config.token) as conn:
        tools = Tools(conn, ToolOptions(dry_run=True, allow_writes=True))
        org.reset_log()
        read = tools.run(lambda: tools.query(JOIN))
        assert read["sent"] is False and read["message"] == "--dry-run: nothing is sent"
        assert read["api_calls"] == 1 and read["fans_out"] is True
        sql = f"DELETE FROM okta.apps.tokens WHERE appId = '{app}'"
        shown = tools.run(lambda: tools.execute(sql))
        write = tools.run(lambda: tools.execute(sql, confirm=True, plan_id=shown.get("plan_id")))
        assert write["sent"] is False and write["message"] == "--dry-run: nothing is sent"
    assert org.request_log == []


def test_values_become_json() -> None:
    import decimal
    import uuid

    from oktaql.mcp._tools import jsonable

    when = dt.datetime(2024, 1, 3, 12, 27, 25, tzinfo=dt.UTC)
    assert jsonable(
        [when, when.date(), decimal.Decimal("2"), decimal.Decimal("2.5"), b"\x00\xff",
         uuid.UUID(int=1), dt.timedelta(seconds=90), {"a": (1, None)}]
    ) == [
        "2024-01-03T12:27:25+00:00", "2024-01-03", 2, 2.5, "AP8=",
        "00000000-0000-0000-0000-000000000001", 90.0, {"a": [1, None]},
    ]  # fmt: skip


def test_a_secret_in_the_statement_is_masked_in_plans_and_errors(org: Any) -> None:
    from oktaql.mcp._tools import ToolOptions, Tools, dumps

    password = "S3cret!-pw-mcp"
    sql = (
        "INSERT INTO okta.users.users (data__profile, data__credentials) SELECT "
        """'{"firstName":"A","lastName":"B","email":"a@example.com","login":"a@example.com"}', """
        f"""'{{"password":{{"value":"{password}"}}}}'"""
    )
    with oktaql.connect(org_url=org.url, token=org.config.token) as conn:
        tools = Tools(conn, ToolOptions(allow_writes=True))
        org.reset_log()
        shown = tools.run(lambda: tools.execute(sql))
        assert json.loads(shown["steps"][0]["body"])["credentials"] == {
            "password": {"value": "***"}
        }
        assert password not in dumps(shown)
        with pytest.raises(oktaql.SQLSyntaxError) as raised:
            tools.run(lambda: tools.query(sql + " WHERE"))
        assert "***" in str(raised.value) and password not in str(raised.value)
    assert org.request_log == []
