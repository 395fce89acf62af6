"""Rules of the codebase that a reviewer would otherwise have to remember.

Each test reads source or config as text (or as a syntax tree) and names the file and line
that breaks the rule, so a failure says exactly what to fix.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "data", "node_modules", "__pycache__"}


def python_files(*folders: str) -> list[Path]:
    paths = [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]
    return [p for p in paths if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]


def app_python_files() -> list[Path]:
    """The code that runs in production: the data layer, the pages and the router."""
    app = [ROOT / "app.py"] if (ROOT / "app.py").exists() else []
    return python_files("metrics", "pages") + app


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def tracked_files() -> list[Path]:
    """Files git tracks; outside a checkout, every file not in an ignored folder."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout
        return [ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)
        ]


# -- layering -------------------------------------------------------------------------------


def imported_modules(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module


def test_metrics_never_imports_streamlit() -> None:
    # The data layer serves the CLI, the reports and the tests too (docs: style.md, layers).
    files = python_files("metrics")
    assert files, "metrics/ has no Python files: is the test looking in the right place?"
    offenders = [
        f"{where(path, node)} imports {name}"
        for path in files
        for node, name in imported_modules(parse(path))
        if name == "streamlit" or name.startswith("streamlit.")
    ]
    assert offenders == []


# What of the data layer the pages and app.py may import: everything they read or change goes
# through metrics.access (which checks the rights); messages, periods and the contract's names
# are plain facts. The same rule as the import contract in pyproject.toml, which lint-imports
# checks for pages/ only (it reads packages, not app.py) and only where it is run.
PAGE_IMPORTS = {"metrics.access", "metrics.i18n", "metrics.periods", "metrics.schemas"}


def metrics_imports(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    """Each module of metrics/ that `tree` imports (`from metrics import x` as metrics.x)."""
    for node, name in imported_modules(tree):
        if isinstance(node, ast.ImportFrom) and name == "metrics":
            yield from ((node, f"metrics.{alias.name}") for alias in node.names)
        elif name == "metrics" or name.startswith("metrics."):
            yield node, name


def test_pages_reach_the_data_only_through_metrics_access() -> None:
    files = [*python_files("pages"), ROOT / "app.py"]
    offenders = [
        f"{where(path, node)} imports {name}"
        for path in files
        for node, name in metrics_imports(parse(path))
        if name not in PAGE_IMPORTS
    ]
    assert offenders == [], "pages and app.py may import only " + ", ".join(sorted(PAGE_IMPORTS))
    caught = ast.parse("from metrics import access, store\nimport metrics.catalog\n")
    assert [n for _, n in metrics_imports(caught) if n not in PAGE_IMPORTS] == [
        "metrics.store",
        "metrics.catalog",
    ]


def test_mypy_checks_the_pages_and_the_router_strictly() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert {"metrics", "pages", "app.py"} <= set(config["files"])


# -- SQL is bound, never formatted ----------------------------------------------------------

SQL_METHODS = {"execute", "executemany", "sql"}
SQL_NAMES = re.compile(r"(^|_)(sql|query)$", re.IGNORECASE)


def is_formatted_string(node: ast.AST | None) -> bool:
    """An f-string, "...".format(...), "..." % x, or "..." + x: text built at run time."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and isinstance(node.func.value, ast.Constant)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return is_text(node.left) and not is_text(node.right)
    return False


def is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def formatted_sql(tree: ast.Module) -> Iterator[ast.AST]:
    """SQL text built in the call that runs it: execute(f"..."), sql=f"...", and the like.

    Assigning a built statement to a variable first is left alone on purpose: that is how
    identifiers from the data contract are spliced in (style.md), and it puts the statement
    where a reviewer reads it.
    """
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        is_sql_call = isinstance(func, ast.Attribute) and func.attr in SQL_METHODS
        if is_sql_call and node.args and is_formatted_string(node.args[0]):
            yield node
        for kw in node.keywords:
            if kw.arg and SQL_NAMES.search(kw.arg) and is_formatted_string(kw.value):
                yield kw.value


# Reviewed exceptions: (file, start of the statement) -> why no value can reach it.
FORMATTED_SQL_ALLOWED: dict[tuple[str, str], str] = {}


def test_sql_is_never_built_with_string_formatting() -> None:
    # Values are bound as $named parameters; identifiers come from the catalog.
    offenders = []
    for path in app_python_files():
        for node in formatted_sql(parse(path)):
            statement = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
            allowed = any(
                path.relative_to(ROOT).as_posix() == file and start in statement
                for file, start in FORMATTED_SQL_ALLOWED
            )
            if not allowed:
                offenders.append(f"{where(path, node)}: {statement}")
    assert not offenders, (
        "bind values; splice only contract identifiers, in a named statement:\n"
        + ("\n".join(offenders))
    )


def test_the_formatted_sql_check_catches_the_usual_forms() -> None:
    caught = ast.parse(
        "con.execute(f'SELECT * FROM t WHERE id = {x}')\n"
        "con.sql('SELECT {}'.format(x))\n"
        "run(sql=f'DELETE FROM {table}')\n"
        "cur.execute('SELECT * FROM t WHERE id = %s' % x)\n"
        "con.sql('SELECT count(*) FROM ' + table)\n"
    )
    bound = ast.parse(
        "con.execute('SELECT * FROM t WHERE id = $id', {'id': x})\n"
        "con.execute('SELECT * FROM t' ' WHERE id = $id', {'id': x})\n"
        "path = (SQL_DIR / f'{name}.sql').read_text()\n"
        "print(f'{label}: {value}')\n"
    )
    assert len(list(formatted_sql(caught))) == 5
    assert list(formatted_sql(bound)) == []


def test_sql_files_have_no_python_placeholders() -> None:
    # A "{name}" in a .sql file could only be filled by str.format; parameters are $name.
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "metrics" / "sql").glob("*.sql"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\{\w*\}", line.split("--", 1)[0])
    ]
    assert offenders == []


# -- DuckDB stays offline -------------------------------------------------------------------


def duckdb_connects(tree: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "connect"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "duckdb"
        ):
            yield node


def config_value(call: ast.Call, key: str) -> object:
    for kw in call.keywords:
        if kw.arg == "config" and isinstance(kw.value, ast.Dict):
            for k, v in zip(kw.value.keys, kw.value.values, strict=True):
                if isinstance(k, ast.Constant) and k.value == key and isinstance(v, ast.Constant):
                    return v.value
    return None


def test_duckdb_never_downloads_extensions() -> None:
    # A dashboard on a government intranet must not reach out to fetch code at run time.
    store = ROOT / "metrics" / "store.py"
    calls = {path: list(duckdb_connects(parse(path))) for path in app_python_files()}
    assert calls[store], "metrics/store.py no longer calls duckdb.connect: update this test"
    elsewhere = [where(p, c) for p, cs in calls.items() if p != store for c in cs]
    assert elsewhere == [], "open DuckDB through Store.connect only"
    for call in calls[store]:
        assert config_value(call, "autoinstall_known_extensions") is False, where(store, call)
        assert config_value(call, "autoload_known_extensions") is False, where(store, call)


# -- configuration --------------------------------------------------------------------------


def test_streamlit_config_keeps_the_app_private() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"]
    assert config["server"]["enableXsrfProtection"] is True
    assert config["client"]["showErrorDetails"] == "none"


def requirement_lines(name: str) -> list[str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


def test_requirements_are_pinned() -> None:
    loose = [
        f"{name}: {line}"
        for name in ("requirements.txt", "requirements-dev.txt")
        for line in requirement_lines(name)
        if not line.startswith("-r ") and not re.fullmatch(r"[A-Za-z0-9._\[\]-]+==[\w.]+", line)
    ]
    assert loose == []
    assert "-r requirements.txt" in requirement_lines("requirements-dev.txt")


def test_no_package_registry_is_named_in_the_code() -> None:
    # Packages come from whatever index pip and apt are configured with (a mirror, often);
    # a host written into the code would bypass it. Built by joining so this file passes.
    hosts = [
        ".".join(parts)
        for parts in (
            ("pypi", "org"),
            ("files", "pythonhosted", "org"),
            ("registry", "npmjs", "org"),
            ("deb", "debian", "org"),
        )
    ]
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        offenders += [f"{path.relative_to(ROOT)}: {host}" for host in hosts if host in text]
    assert offenders == []


# -- sizes: rooms small enough to find one's way in ------------------------------------------
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def test_no_source_file_over_600_lines() -> None:
    files = app_python_files() + python_files("scripts")
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in files
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    ]
    assert long == [], f"split these by what a reader looks for (docs/decisions/0007): {long}"


def test_no_function_over_80_lines() -> None:
    long = [
        f"{where(path, node)} {node.name}: {node.end_lineno - node.lineno + 1} lines"
        for path in app_python_files() + python_files("scripts")
        for node in ast.walk(parse(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"break these into pieces that read top to bottom: {long}"
