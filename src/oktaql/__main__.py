"""``python -m oktaql``: the same command line as ``oktaql``."""

from oktaql.cli import main

if __name__ == "__main__":
    main()
