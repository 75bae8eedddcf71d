"""``python -m oktaql.shell``: the same as ``oktaql shell``."""

from oktaql.shell import shell_command

shell_command(prog_name="oktaql shell")
