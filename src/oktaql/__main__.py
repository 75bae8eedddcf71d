"""``python -m oktaql``: the same as the ``oktaql`` command (every subcommand and option)."""

from __future__ import annotations

from oktaql.cli import main

if __name__ == "__main__":
    main(prog_name="python -m oktaql")
