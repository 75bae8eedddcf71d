"""Where benchmark 1's time goes, stage by stage, without a profiler's overhead.

    .venv/bin/python bench/breakdown.py [--rows 5000] [--reps 15]

Reads the same 5,000 tokens (25 pages of 200) from an ``oktaql emulator`` process and times,
each on its own and on identical inputs: parse + plan, the HTTP round trips, JSON decoding,
building the per-column text lists, the DuckDB INSERT, the local SELECT, and the DB-API's JSON
conversion of the fetched rows. Then it times a few alternatives for the loading step so the
optimisation list in docs/benchmarks.md has measured gains.

A diagnostic, not a benchmark: it reaches into ``oktaql._loading.TableSink`` (``_insert``,
``columns``, ``types``) and may need updating when those change. Stdlib + project deps only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import TOKEN, Emulator  # noqa: E402


def best(fn: Callable[[], object], reps: int) -> float:
    """Median seconds of ``reps`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--page", type=int, default=200)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()

    import duckdb
    import httpx

    import oktaql
    from oktaql._loading import TableSink, cell_text

    out: list[tuple[str, float]] = []
    with Emulator(apps=1, tokens_per_app=args.rows) as emu:
        app = emu.first_app_id()
        sql = f"SELECT * FROM okta.apps.tokens WHERE appId = '{app}' AND limit = {args.page}"
        first = f"{emu.url}/api/v1/apps/{app}/tokens?limit={args.page}"
        conn = oktaql.connect(org_url=emu.url, token=TOKEN)
        client = httpx.Client(
            headers={"Authorization": f"SSWS {TOKEN}", "Accept": "application/json"}
        )

        def end_to_end() -> None:
            cur = conn.cursor()
            cur.execute(sql)
            cur.fetchall()
            cur.close()

        out.append(
            (
                "end to end: execute + fetchall (DB-API, connection reused)",
                best(end_to_end, args.reps),
            )
        )

        def plan_only() -> None:
            conn.cursor().execute("EXPLAIN " + sql).fetchall()

        out.append(("parse + plan (EXPLAIN of the statement)", best(plan_only, args.reps)))

        raw_pages: list[bytes] = []

        def http_only() -> None:
            raw_pages.clear()
            url = first
            while url:
                r = client.get(url)
                raw_pages.append(r.content)
                url = r.links.get("next", {}).get("url", "")

        c0 = emu.cpu_seconds()
        t_http = best(http_only, args.reps)
        emu_cpu = (emu.cpu_seconds() - c0) / (args.reps + 1)
        out.append((f"HTTP round trips only ({len(raw_pages)} GETs, body read, no decode)", t_http))
        out.append(("  of which emulator CPU (server side, from /proc)", emu_cpu))

        out.append(
            (
                "JSON decode of every page (json.loads)",
                best(lambda: [json.loads(b) for b in raw_pages], args.reps),
            )
        )
        bodies = [json.loads(b) for b in raw_pages]

        columns = conn.session.catalog.resource("okta.apps.tokens").columns
        duck = duckdb.connect()
        duck.execute("SET TimeZone='UTC'")
        sink = TableSink(duck, "t", columns, ["appId"])

        def text_lists(body: list[dict]) -> list[list[str | None]]:
            return [
                [cell_text(r.get(c.name), t) for r in body]
                for c, t in zip(sink.columns, sink.types)
            ]

        out.append(
            (
                "TableSink: per-column text lists (cell_text, json.dumps of objects)",
                best(lambda: [text_lists(b) for b in bodies], args.reps),
            )
        )
        per_col: dict[str, float] = {}
        for c, t in zip(sink.columns, sink.types):
            per_col[c.name] = best(
                lambda c=c, t=t: [[cell_text(r.get(c.name), t) for r in b] for b in bodies], 5
            )
        params = [text_lists(b) + [app] for b in bodies]

        def insert_only() -> None:
            duck.execute("DELETE FROM t")
            for p in params:
                duck.execute(sink._insert, p)

        out.append(
            (
                "TableSink: DuckDB INSERT of the prepared lists (UNNEST + casts)",
                best(insert_only, args.reps),
            )
        )

        n = len(sink.columns)
        plain_sql = (
            "INSERT INTO plain SELECT "
            + ", ".join(f"c{i}" for i in range(n))
            + f", ${n + 1} FROM (SELECT "
            + ", ".join(f"UNNEST(${i + 1}) AS c{i}" for i in range(n))
            + ")"
        )
        duck.execute(
            "CREATE OR REPLACE TABLE plain ("
            + ", ".join(f"c{i} VARCHAR" for i in range(n + 1))
            + ")"
        )

        def insert_plain() -> None:
            duck.execute("DELETE FROM plain")
            for p in params:
                duck.execute(plain_sql, p)

        out.append(
            (
                "  same INSERT into all-VARCHAR columns, no casts (binding cost)",
                best(insert_plain, args.reps),
            )
        )

        conn.cursor().execute(sql).fetchall()  # leaves a table with the rows for the local step
        local_fetch = best(lambda: duck.execute("SELECT * FROM t").fetchall(), args.reps)
        out.append(("local SELECT * + DuckDB fetchall (5,000 rows → Python)", local_fetch))
        fetched = duck.execute("SELECT * FROM t").fetchall()
        json_cols = [i for i, (_, tp) in enumerate(zip(sink.columns, sink.types)) if tp == "JSON"]

        def convert() -> None:
            for row in fetched:
                values = list(row)
                for i in json_cols:
                    if isinstance(values[i], str):
                        values[i] = json.loads(values[i])

        out.append(("DB-API _convert: json.loads of the JSON columns", best(convert, args.reps)))

        # --- alternatives for the loading step -------------------------------------------
        alt: list[tuple[str, float]] = []
        sel = []
        for c, t in zip(sink.columns, sink.types):
            path = "'$.\"" + c.name + "\"'"
            if t == "JSON":
                sel.append(f"json_extract(j, {path})")
            elif t == "TIMESTAMP":
                sel.append(
                    f"CAST(TRY_CAST(json_extract_string(j, {path}) AS TIMESTAMPTZ) AS TIMESTAMP)"
                )
            else:
                sel.append(
                    f"TRY_CAST(json_extract_string(j, {path}) AS {t})"
                    if t != "VARCHAR"
                    else f"json_extract_string(j, {path})"
                )
        raw_sql = f"INSERT INTO t SELECT {', '.join(sel)}, $2 FROM (SELECT unnest(CAST($1 AS JSON[])) AS j)"

        def raw_insert() -> None:
            duck.execute("DELETE FROM t")
            for b in raw_pages:
                duck.execute(raw_sql, [b.decode(), app])

        alt.append(
            (
                "raw page text → DuckDB parses (no json.loads/cell_text/lists): INSERT per page",
                best(raw_insert, args.reps),
            )
        )
        n_before = duck.execute("SELECT count(*), count(DISTINCT id) FROM t").fetchone()
        alt.append((f"  (check: rows, distinct ids loaded = {n_before})", 0.0))

        def fast_text() -> None:
            dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
            for body in bodies:
                cols = []
                for c, t in zip(sink.columns, sink.types):
                    k = c.name
                    if t == "JSON":
                        cols.append([None if (v := r.get(k)) is None else dumps(v) for r in body])
                    else:
                        cols.append(
                            [
                                None
                                if (v := r.get(k)) is None
                                else v
                                if isinstance(v, str)
                                else cell_text(v, t)
                                for r in body
                            ]
                        )

        alt.append(
            (
                "text lists with a hoisted JSONEncoder.encode + str fast path",
                best(fast_text, args.reps),
            )
        )

        def batch_insert() -> None:
            duck.execute("DELETE FROM t")
            merged = [sum((p[i] for p in params), []) for i in range(n)] + [app]
            duck.execute(sink._insert, merged)

        alt.append(
            (
                "one INSERT for all 25 pages (batching pages before DuckDB)",
                best(batch_insert, args.reps),
            )
        )

        def convert_group() -> None:
            for i in json_cols:
                name = sink.columns[i].name
                json.loads(
                    duck.execute(
                        f'SELECT CAST(json_group_array("{name}") AS VARCHAR) FROM t'
                    ).fetchone()[0]
                )

        alt.append(
            (
                "DB-API JSON columns: one json_group_array + one json.loads per column",
                best(convert_group, args.reps),
            )
        )

        import datetime as dt

        def _ts(v: object) -> object:
            if not isinstance(v, str):
                return None
            try:
                return dt.datetime.fromisoformat(v).astimezone(dt.UTC).replace(tzinfo=None)
            except ValueError:
                return None

        def direct_rows() -> None:
            names = [c.name for c in sink.columns]
            stamps = {i for i, t in enumerate(sink.types) if t == "TIMESTAMP"}
            for body in bodies:
                for r in body:
                    vals = [r.get(k) for k in names]
                    for i in stamps:
                        vals[i] = _ts(vals[i])
                    vals.append(app)
                    tuple(vals)

        alt.append(
            (
                "no DuckDB: decoded dict → DB-API tuple (timestamps parsed in Python)",
                best(direct_rows, args.reps),
            )
        )
        conn.close()
        client.close()

    width = max(len(k) for k, _ in out + alt)
    print(f"{'stage':<{width}}  ms per {args.rows:,} rows")
    for k, v in out:
        print(f"{k:<{width}}  {v * 1e3:8.1f}")
    print(
        "\nper column, text lists (ms):",
        ", ".join(f"{k} {v * 1e3:.1f}" for k, v in per_col.items()),
    )
    print("\nalternatives")
    for k, v in alt:
        print(f"{k:<{width}}  {v * 1e3:8.1f}" if v else k)


if __name__ == "__main__":
    main()
