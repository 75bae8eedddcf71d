"""Statements → plans: which resource, which method, which HTTP calls, what runs locally.

Parameters are bound from ``WHERE``/``ON`` equalities with literals (``appId = 'x'``), ``IN``
lists (one call per value), and — for a dependent join or ``IN (SELECT ...)`` — from the values
another part of the query produces, fetched first. Everything else runs in DuckDB over the
fetched rows. Among a resource's methods for the statement's SQL verb, those whose required
parameters are all bound qualify and the one binding the most wins; when none qualifies the
error names what is missing.
"""

from __future__ import annotations

from oktaql.planning._common import (
    MISSING,
    Call,
    PlanContext,
    bound_values,
    choose_method,
    conjuncts,
    dotted,
    literal,
)
from oktaql.planning._query import (
    Dependency,
    JoinCap,
    QueryPlan,
    Scan,
    dependency_groups,
    dependent_calls,
    plan_query,
)
from oktaql.planning._requests import check_org_url, is_loopback
from oktaql.planning._shape import needs_whole_input, only_projects
from oktaql.planning._statements import Environment, names_local_tables, plan, query_steps
from oktaql.planning._steps import (
    EXPLAIN_COLUMNS,
    Answer,
    DropView,
    FanOut,
    Fetch,
    ManageRegistry,
    Materialize,
    Plan,
    RunLocal,
    Send,
    Step,
    StoreView,
    Stream,
)
from oktaql.planning._writes import (
    WritePlan,
    insert_target,
    plan_delete,
    plan_exec,
    plan_insert_rows,
    plan_update,
)

__all__ = [
    "EXPLAIN_COLUMNS",
    "MISSING",
    "Answer",
    "DropView",
    "Environment",
    "FanOut",
    "Fetch",
    "ManageRegistry",
    "Materialize",
    "Plan",
    "RunLocal",
    "Send",
    "Step",
    "StoreView",
    "Stream",
    "check_org_url",
    "is_loopback",
    "names_local_tables",
    "needs_whole_input",
    "only_projects",
    "plan",
    "query_steps",
    "Call",
    "Dependency",
    "JoinCap",
    "PlanContext",
    "QueryPlan",
    "Scan",
    "WritePlan",
    "choose_method",
    "bound_values",
    "conjuncts",
    "dotted",
    "dependency_groups",
    "dependent_calls",
    "insert_target",
    "literal",
    "plan_delete",
    "plan_exec",
    "plan_insert_rows",
    "plan_query",
    "plan_update",
]
