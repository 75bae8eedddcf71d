"""The interactive shell: ``oktaql shell`` (or ``python -m oktaql.shell``).

Statements may span lines and end with ``;``; lines starting with ``.`` are meta commands
(``.help`` lists them). Tab completes keywords, ``okta.<service>.<resource>`` names, the
columns and parameters of the resources the statement names, method names after
``EXEC okta.svc.res.`` and the meta commands. Ctrl-C at the prompt clears the line, Ctrl-C while
a statement runs cancels it (its HTTP requests are aborted), Ctrl-D exits.

History is kept in ``$XDG_DATA_HOME/oktaql/history`` (``~/.local/share/oktaql/history``) with
secrets redacted before they reach the file (:func:`oktaql._secrets.mask_sql`).

A DELETE, UPDATE, REPLACE or EXEC is planned first; when its plan says it is bulk
(``Plan.bulk_reasons``: more than one request, or a DELETE of a whole collection, one whose
path ends without an id, such as revoking every token of an app), the planned requests are
shown and only ``y``/``yes`` runs it.

The module imports only click and the standard library at import time, so the ``oktaql``
command starts fast; prompt_toolkit, pygments, httpx and the engine load when the shell starts.

The package, by concern: ``_text`` (statement text), ``_completion``, ``_history``,
``_runner`` (statements on a worker thread, Ctrl-C through ``Session.cancel``, confirmation
of bulk writes), ``_commands`` (the dot commands), ``_repl`` (the prompt loop),
``_command`` (``oktaql shell`` and its options).
"""

from __future__ import annotations

from oktaql.shell._command import shell_command
from oktaql.shell._commands import META_COMMANDS
from oktaql.shell._completion import KEYWORDS, Candidate, CompletionSource, complete
from oktaql.shell._history import default_history_path
from oktaql.shell._repl import PROMPT, Shell, run_shell
from oktaql.shell._text import first_word, format_row, statement_complete

__all__ = [
    "KEYWORDS",
    "META_COMMANDS",
    "PROMPT",
    "Candidate",
    "CompletionSource",
    "Shell",
    "complete",
    "default_history_path",
    "first_word",
    "format_row",
    "run_shell",
    "shell_command",
    "statement_complete",
]
