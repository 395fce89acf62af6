"""The metric SQL on Spark: the DuckDB SQL of sql/*.sql, its macros inlined, transpiled by
sqlglot (docs/decisions/0017-spark-refresh.md).

DuckDB's macros (sql/_macros.sql, _rollups.sql, _rollup_reads.sql) have no Spark twin but
the few in spark/functions.sql, which a Spark session defines as SQL functions: `periods`
(DuckDB's range() over timestamps has none in Spark) and the scalar ones. Every other macro
is inlined where it is called, from its DuckDB text: a table macro becomes a subquery, a
scalar one a parenthesised expression, each parameter replaced by its argument, and
`query_table('x')` the table x. So a rollup or a metric added to the DuckDB SQL needs
nothing here. Two DuckDB forms Spark lacks are rewritten: `UNION ALL BY NAME` becomes a
positional UNION ALL (every branch of the macros lists its columns in one order) and a
MATERIALIZED common table expression a plain one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.generators.spark import SparkGenerator

from metrics.delta import SQL_DIR

FUNCTIONS_PATH = Path(__file__).resolve().parent / "functions.sql"
MACRO_FILES = ("_macros.sql", "_rollups.sql", "_rollup_reads.sql")
_MACRO_RE = re.compile(
    r"CREATE OR REPLACE MACRO (\w+)\(([^)]*)\) AS(\s+TABLE)?\s+(.*?);\s*$", re.S | re.M
)
_NATIVE_RE = re.compile(r"CREATE TEMPORARY FUNCTION (\w+)\(", re.I)
_COMMENT_RE = re.compile(r"--[^\n]*")


class NestedSpark(Spark):  # type: ignore[misc,unused-ignore]
    """Spark SQL keeping a common table expression inside the subquery that defines it
    (Spark reads them there): sqlglot's Spark moves them all to the top, where two inlined
    macros' `measured` would clash."""

    class Generator(SparkGenerator):  # type: ignore[misc, unused-ignore]
        EXPRESSIONS_WITHOUT_NESTED_CTES: ClassVar[set[type[exp.Expr]]] = set()


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...]
    table: bool
    body: exp.Expr


def _macros_in(text: str) -> list[Macro]:
    found = []
    for m in _MACRO_RE.finditer(_COMMENT_RE.sub("", text)):
        params = tuple(p.strip() for p in m[2].split(",") if p.strip())
        table = bool(m[3])
        sql = m[4] if table else f"SELECT {m[4]}"
        tree = sqlglot.parse_one(sql, read="duckdb")
        body = tree if table else tree.expressions[0]
        found.append(Macro(m[1].lower(), params, table, body))
    return found


@functools.cache
def macros() -> dict[str, Macro]:
    """The DuckDB macros to inline: all of the macro files' but those Spark defines."""
    native = set(native_functions())
    found: dict[str, Macro] = {}
    for name in MACRO_FILES:
        for macro in _macros_in((SQL_DIR / name).read_text(encoding="utf-8")):
            if macro.name not in native:
                found[macro.name] = macro
    return found


@functools.cache
def native_functions() -> tuple[str, ...]:
    return tuple(n.lower() for n in _NATIVE_RE.findall(functions_sql()))


@functools.cache
def functions_sql() -> str:
    return FUNCTIONS_PATH.read_text(encoding="utf-8")


def function_statements() -> list[str]:
    """The statements of spark/functions.sql, one per function."""
    text = _COMMENT_RE.sub("", functions_sql())
    return [s.strip() for s in text.split(";") if s.strip()]


def _substitute(macro: Macro, args: list[exp.Expr]) -> exp.Expr:
    if len(args) != len(macro.params):
        raise ValueError(f"{macro.name}: {len(args)} arguments for {len(macro.params)}")
    given = dict(zip(macro.params, args, strict=True))
    body = macro.body.copy()

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table and node.name in given:
            value = given[node.name].copy()
            return value if isinstance(value, exp.Literal | exp.Column) else exp.paren(value)
        return node

    return body.transform(swap)


def _table_name(arg: exp.Expr) -> str:
    if isinstance(arg, exp.Literal | exp.Column):
        name: str = arg.name  # typed: sqlglot is optional, so mypy may not see its types
        return name
    raise ValueError(f"query_table needs a table name, not {arg.sql()}")


def _inline_once(tree: exp.Expr) -> tuple[exp.Expr, bool]:
    known = macros()
    changed = False

    def step(node: exp.Expr) -> exp.Expr:
        nonlocal changed
        call = node.this if isinstance(node, exp.Table) else node
        if not isinstance(call, exp.Anonymous):
            return node
        name = call.name.lower()
        args = list(call.expressions)
        if isinstance(node, exp.Table) and name == "query_table":
            changed = True
            table = exp.to_table(_table_name(args[0]))
            if node.alias:
                table.set("alias", node.args["alias"].copy())
            return table
        macro = known.get(name)
        if macro is None or macro.table != isinstance(node, exp.Table):
            return node
        changed = True
        body = _substitute(macro, args)
        if not macro.table:
            return exp.paren(body)
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
        return exp.Subquery(this=body, alias=alias.copy())

    return tree.transform(step), changed


def _spark_forms(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Union) and node.args.get("by_name"):
        node.set("by_name", None)
    if isinstance(node, exp.CTE) and node.args.get("materialized"):
        node.set("materialized", None)
    return node


def to_spark(sql: str) -> str:
    """DuckDB SQL (with $named parameters) as Spark SQL (with :named ones), every macro
    that Spark does not define inlined."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for _ in range(50):  # macros call macros: a few rounds; a cycle would be a bug
        tree, changed = _inline_once(tree)
        if not changed:
            break
    else:
        raise ValueError("macros nest too deep")
    spark: str = tree.transform(_spark_forms).sql(dialect=NestedSpark)
    return spark
