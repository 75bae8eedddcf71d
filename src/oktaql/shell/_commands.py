"""The meta (dot) commands: ``.output``, ``.vars``/``.set``/``.unset``, ``.show N``, ``.tables``,
``.inspect RESOURCE``, ``.profile``, ``.timer``, ``.help``, ``.quit``."""

from __future__ import annotations

import json
import re
from typing import Any

from oktaql._secrets import REDACTED, is_secret_name, mask_json
from oktaql.errors import Error
from oktaql.output import OUTPUT_FORMATS
from oktaql.shell._runner import StatementRunner
from oktaql.shell._text import format_row

META_COMMANDS: dict[str, str] = {
    ".help": "this list",
    ".output": f".output {'|'.join(OUTPUT_FORMATS)}: the result format (alone: show it)",
    ".tables": "the session's own tables and views (SHOW TABLES)",
    ".inspect": ".inspect RESOURCE: the columns and parameters of okta.<service>.<resource>",
    ".vars": "list the template variables ({{ name }})",
    ".set": ".set NAME VALUE: set a template variable",
    ".unset": ".unset NAME: remove a template variable",
    ".show": ".show N: row N (1-based) of the last result in full, JSON pretty-printed",
    ".profile": ".profile [NAME]: show the profile, or switch to NAME (reconnects)",
    ".timer": ".timer on|off: print the elapsed time after each statement",
    ".quit": "leave the shell (also .exit, Ctrl-D)",
}


class MetaCommands(StatementRunner):
    """The dot commands (``.help`` lists them)."""

    profile: str | None

    def meta(self, text: str) -> bool:
        text = text.rstrip(";").strip()
        cmd, _, arg = text.partition(" ")
        cmd = cmd.lower()
        arg = arg.strip()
        if cmd in ("quit", "exit", r"\q"):
            cmd = ".quit"
        if cmd == "help":
            cmd = ".help"
        if cmd in (".quit", ".exit"):
            return False
        if cmd == ".help":
            width = max(len(k) for k in META_COMMANDS)
            for name, what in META_COMMANDS.items():
                self.echo(f"{name.ljust(width)}  {what}")
            self.echo("Statements end with ';'. Tab completes; Ctrl-C cancels; Ctrl-D leaves.")
        elif cmd == ".output":
            if not arg:
                self.echo(self.fmt)
            elif arg in OUTPUT_FORMATS:
                self.fmt = arg
                self.echo(f"output: {arg}")
            else:
                self.echo(f"error: unknown format {arg!r}: {', '.join(OUTPUT_FORMATS)}", err=True)
        elif cmd == ".tables":
            self.run_statement("SHOW TABLES", as_written=True)
        elif cmd == ".inspect":
            self.meta_inspect(arg)
        elif cmd == ".vars":
            variables = self.conn.session.variables
            if not variables:
                self.echo("no variables (.set NAME VALUE sets one)")
            for name in sorted(variables):
                shown = (
                    REDACTED
                    if is_secret_name(name)
                    else json.dumps(mask_json(variables[name]), default=str)
                )
                self.echo(f"{name} = {shown}")
        elif cmd == ".set":
            name, _, value = arg.partition(" ")
            value = value.strip()
            if not name or not re.fullmatch(r"[A-Za-z_][\w-]*", name):
                self.echo("error: usage: .set NAME VALUE", err=True)
            else:
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                self.conn.session.variables[name] = value
                self.echo(f"{name} set")
        elif cmd == ".unset":
            if self.conn.session.variables.pop(arg, None) is None:
                self.echo(f"error: no variable {arg!r}", err=True)
            else:
                self.echo(f"{arg} unset")
        elif cmd == ".show":
            self.meta_show(arg)
        elif cmd == ".timer":
            if arg.lower() in ("on", "off"):
                self.timer = arg.lower() == "on"
                self.echo(f"timer {arg.lower()}")
            else:
                self.echo(f"timer is {'on' if self.timer else 'off'} (.timer on|off)")
        elif cmd == ".profile":
            self.meta_profile(arg)
        else:
            self.echo(f"error: unknown command {cmd!r}: .help lists them", err=True)
        return True

    def meta_inspect(self, arg: str) -> None:
        """A resource's columns (DESCRIBE), then the parameters its SELECT methods take."""
        if not re.fullmatch(r"[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*", arg):
            self.echo("error: usage: .inspect okta.<service>.<resource>", err=True)
            return
        if not self.run_statement(f"DESCRIBE {arg}", as_written=True):
            return
        resource = self.conn.session.catalog.resource(arg)
        rows: list[tuple[Any, ...]] = []
        for method in resource.methods_for("select"):
            for param in method.params.values():
                if param.location != "server":
                    where = "required" if param.required else "optional"
                    rows.append((param.name, param.location, where, method.name))
        if rows:
            self.show_rows(["parameter", "in", "required", "method"], rows)
        else:
            self.echo(f"{arg} takes no parameters")

    def meta_show(self, arg: str) -> None:
        if self.last is None:
            self.echo("error: no result yet", err=True)
            return
        columns, rows = self.last
        try:
            n = int(arg)
        except ValueError:
            self.echo("error: usage: .show N (a row number of the last result)", err=True)
            return
        if not 1 <= n <= len(rows):
            self.echo(
                f"error: the last result has {len(rows)} row(s): give 1..{len(rows)}", err=True
            )
            return
        self.echo(format_row(columns, rows[n - 1]))

    def meta_profile(self, arg: str) -> None:
        from oktaql.config import load_config

        if not arg:
            url = self.conn.session.org_url or "(statements name the org with subdomain)"
            self.echo(f"profile: {self.profile or '-'}  org: {url}")
            return
        try:
            prof = load_config().resolve(arg)
            token = prof.token()
        except Error as exc:
            self.report(exc)
            return
        self._settle_abandoned()
        old_kwargs = self.kwargs
        self.kwargs = {**self.kwargs, "org_url": prof.org_url, "token": token}
        try:
            self.connect()
        except Error as exc:
            self.kwargs = old_kwargs
            self.report(exc)
            return
        self.profile = prof.name
        self.last = None
        self.echo(f"profile {prof.name}: {prof.org_url or '-'} (token from {prof.token_source})")
