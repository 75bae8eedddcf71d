"""``python -m oktaql.emulator``: the same as ``oktaql emulator`` (every option of it)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> None:
    from oktaql.cli import emulator_command

    emulator_command.main(args=argv, prog_name="python -m oktaql.emulator")


if __name__ == "__main__":
    main()
