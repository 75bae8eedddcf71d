"""Statements: run on a worker thread (Ctrl-C cancels them and aborts their requests), bulk
writes confirmed first, results and errors shown."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from oktaql import _report
from oktaql.errors import Error
from oktaql.shell._text import DESTRUCTIVE, first_word


@dataclass
class _Outcome:
    columns: list[str] | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    message: str | None = None
    error: BaseException | None = None
    plan: Any = None


_unexpected = _report.unexpected


class StatementRunner:
    """Running statements on a worker thread so Ctrl-C can cancel them, and what the shell
    prints. The connection lives here too: a cancelled statement may leave a new session."""

    kwargs: dict[str, Any]
    conn: Any
    transport: Any
    fmt: str
    out: IO[str]
    fixed_width: int | None
    timer: bool
    dry_run: bool
    confirm_session: Any
    last: tuple[list[str], list[tuple[Any, ...]]] | None
    _abandoned: threading.Thread | None

    def connect(self) -> None:
        import oktaql

        variables = dict(self.conn.session.variables) if self.conn is not None else None
        kwargs = dict(self.kwargs)
        if variables is not None:
            kwargs["variables"] = variables
        conn = oktaql.connect(transport=self.transport, **kwargs)
        if self.conn is not None:
            self._close_conn()
        self.conn = conn

    def _close_conn(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - a broken session must not keep the shell from going on
            pass

    def echo(self, text: str = "", err: bool = False) -> None:
        stream = sys.stderr if err and self.out is sys.stdout else self.out
        from oktaql.output import visible

        # everything the shell says may quote API data (an error, a message, a planned request):
        # its control characters are shown, never sent to the terminal
        stream.write(visible(text, lines=True) + "\n")
        stream.flush()

    def echo_cancelled(self) -> None:
        # the terminal echoed ^C where the cursor was: start a line of our own
        isatty = getattr(self.out, "isatty", lambda: False)
        self.echo(("\n" if isatty() else "") + "cancelled")

    def width(self) -> int:
        if self.fixed_width:
            return self.fixed_width
        return max(20, shutil.get_terminal_size().columns)

    def report(self, exc: BaseException) -> None:
        """An error, as every oktaql surface shows it (oktaql._report)."""
        self.echo(_report.report(exc, "cli").lines(), err=True)

    def run_statement(self, sql: str, *, as_written: bool = False) -> bool:
        """Run one statement; ``as_written``: a meta command's own (no --dry-run EXPLAIN)."""
        self._settle_abandoned()
        started = time.monotonic()
        if self.dry_run and not as_written and first_word(sql) != "EXPLAIN":
            sql = "EXPLAIN " + sql  # --dry-run: plans only, so nothing to confirm
        elif first_word(sql) in DESTRUCTIVE:
            go = self.confirm(sql)
            if go is None:
                self.echo_cancelled()
                return False
            if not go:
                self.echo("not run")
                return False
        outcome = self._in_worker(sql)
        if outcome is None:
            self.echo_cancelled()
            return False
        elapsed = time.monotonic() - started
        if outcome.error is not None:
            self.report(outcome.error)
            return False
        if outcome.columns is not None:
            self.last = (outcome.columns, outcome.rows)
            self.show_rows(outcome.columns, outcome.rows)
        if outcome.message:
            self.echo(outcome.message)
        if self.timer:
            self.echo(f"Time: {elapsed:.3f} s")
        return True

    def show_rows(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        from oktaql import output

        if self.fmt == "table":
            output.write("table", columns, rows, self.out, width=self.width())
            self.echo(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
        else:
            output.write(self.fmt, columns, rows, self.out, width=self.width())
            self.out.flush()

    def _in_worker(self, sql: str, plan_only: bool = False) -> _Outcome | None:
        """Run ``sql`` on a worker thread (or, with ``plan_only``, plan it: ``outcome.plan``);
        None when Ctrl-C cancelled it."""
        conn = self.conn
        outcome = _Outcome()
        done = threading.Event()

        def work() -> None:
            try:
                if plan_only:
                    outcome.plan = conn.session.plan_sql(sql)
                    return
                cur = conn.cursor()
                try:
                    cur.execute(sql)
                    if cur.description is not None:
                        outcome.columns = [d[0] for d in cur.description]
                        outcome.rows = cur.fetchall()
                    outcome.message = cur.message
                finally:
                    cur.close()
            except BaseException as exc:  # noqa: BLE001 - reported by the shell
                outcome.error = exc if isinstance(exc, Error) else _unexpected(exc)
            finally:
                done.set()

        from oktaql._cancel import sigint_caught

        worker = threading.Thread(target=work, name="oktaql-statement", daemon=True)
        worker.start()
        # Ctrl-C is noted, never raised inside the wait's lock (that broke the lock once:
        # "release unlocked lock")
        with sigint_caught() as interrupted:
            try:
                while not done.wait(0.05):
                    if interrupted():
                        self._cancel(worker)
                        return None
            except KeyboardInterrupt:
                self._cancel(worker)
                return None
        return outcome

    def _cancel(self, worker: threading.Thread) -> None:
        """Stop a running statement: its session sends nothing more, abandons what is in
        flight (its connections shut down) and interrupts its DuckDB query (``Session.cancel``)."""
        self.conn.session.cancel()
        self._abandoned = worker

    def _settle_abandoned(self) -> None:
        """Before the next statement: let a cancelled one finish unwinding (its requests are
        refused at once, never retried, so it ends quickly), then accept requests again."""
        worker = self._abandoned
        if worker is None:
            return
        if worker.is_alive():
            worker.join(0.5)
        if worker.is_alive():
            from oktaql._cancel import sigint_caught

            self.echo("waiting for the cancelled statement to stop (Ctrl-C: start a new session)")
            with sigint_caught() as interrupted:
                while worker.is_alive() and not interrupted():
                    worker.join(0.1)
            if worker.is_alive():
                kept = self.kwargs.get("db") not in (None, ":memory:")  # the file keeps them
                self.echo(
                    "new session" + ("" if kept else ": views and tables of the old one are gone")
                )
                old = self.conn
                self.conn = None
                import oktaql

                kwargs = dict(self.kwargs)
                kwargs["variables"] = dict(old.session.variables)
                self.conn = oktaql.connect(transport=self.transport, **kwargs)
                self._abandoned = None
                return
        self._abandoned = None
        self.conn.session.resume()

    def confirm(self, sql: str) -> bool | None:
        """Plan a write first; ask before a bulk one. True to run it, None when Ctrl-C
        cancelled the planning."""
        planned = self._in_worker(sql, plan_only=True)
        if planned is None:
            return None
        if planned.error is not None:
            return True  # let the statement itself report what is wrong
        plan = planned.plan
        reasons = plan.bulk_reasons()  # the plan says it: many requests, a whole collection
        if not reasons:
            return True
        calls = plan.writes()
        self.echo(f"this statement plans {len(calls)} request(s) ({'; '.join(reasons)}):")
        for c in calls[:20]:
            self.echo(f"  {c.method.name}  {c.request.method} {c.request.url}")
        if len(calls) > 20:
            self.echo(f"  ... and {len(calls) - 20} more")
        try:
            answer = self.confirm_session.prompt("proceed? [y/N] ")
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")
