"""Every statement on the agent's database lives in evy/store/, so the schema and every query are read in one
folder. The knowledge-base index (evy/rag/) and the coordination cell's database (evy/hq/) are databases of their
own and keep their SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import evy

PACKAGE = Path(evy.__file__).parent
ALLOWED = ("store", "rag", "hq")
SQL = re.compile(
    r"\bSELECT\b[\s\S]+\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\b(?:CREATE|DROP|ALTER)\s+(?:VIRTUAL\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b|\bPRAGMA\s+\w+|\bBEGIN\s+IMMEDIATE\b"
    r"|\bON\s+CONFLICT\b")
DATABASE_CALLS = {"execute", "executemany", "executescript"}


def sql_findings(path: Path) -> list[str]:
    """Where a module writes SQL: a statement in a string, a call that runs one, or sqlite3 imported."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"{node.lineno}: SQL in a string: {node.value[:60]!r}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in DATABASE_CALLS):
            found.append(f"{node.lineno}: .{node.func.attr}() call")
        elif isinstance(node, ast.Import) and any(alias.name == "sqlite3" for alias in node.names):
            found.append(f"{node.lineno}: imports sqlite3")
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            found.append(f"{node.lineno}: imports from sqlite3")
    return found


def test_the_scanner_sees_the_store_s_own_sql():
    """The check is only worth something if it finds SQL where there is some."""
    found = sql_findings(PACKAGE / "store" / "optouts.py")
    assert any("SQL in a string" in line for line in found)
    assert any(".execute() call" in line for line in found)


def test_no_module_outside_the_store_and_the_knowledge_base_writes_sql():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ALLOWED:
            continue
        if found := sql_findings(path):
            offenders[str(relative)] = found
    assert offenders == {}, "SQL outside evy/store/ (give the store a function for it): " + repr(offenders)
