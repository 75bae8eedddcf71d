"""``oktaql sync``: land Okta in the databases teams already run, incrementally, for every org.

* :mod:`._plan`: which resources, and the statement each read runs through the engine;
* :mod:`._cursor`: the System Log's ``published`` cursor, ``lastUpdated``, ``--since``;
* :mod:`._table`: a landed table's columns and key, and the merge SQL;
* :mod:`._duckdb`, :mod:`._postgres`, :mod:`._parquet`: the destinations;
* :mod:`._run`: orgs in parallel, resources batch by batch, the summary;
* :mod:`._cli`: the command.
"""

from oktaql.sync._cli import sync_command

__all__ = ["sync_command"]
