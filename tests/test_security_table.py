"""SECURITY.md stays true: every case of the suite has rows, and every test a row names exists.

A row names tests as `file::function` (a parametrized test by its function name; `file::Class::method` works too).
A row of a part still being written says "TBD by other part" instead, and names no test.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import repo_root

TABLE = repo_root() / "SECURITY.md"
CASES = set(range(1, 28))
TBD = "TBD by other part"
_NODE_ID = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)(?:\[[^`\]]*\])?`")


@dataclass(frozen=True)
class Row:
    case: int
    text: str
    node_ids: tuple[tuple[str, str], ...]   # (file, function or Class::method)


def rows(markdown: str) -> list[Row]:
    """The table's body rows: those whose first cell is a case number."""
    found = []
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0].isdigit():
            found.append(Row(int(cells[0]), line, tuple(_NODE_ID.findall(line))))
    return found


def named_test(file: str, name: str) -> object | None:
    """The test a node id names, by importing its module; None when there is no such module or test."""
    module_name = file.removesuffix(".py").replace("/", ".")
    try:
        found: object = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    for part in name.split("::"):
        found = getattr(found, part, None)
    return found if callable(found) and name.split("::")[-1].startswith("test") else None


TABLE_ROWS = rows(TABLE.read_text(encoding="utf-8"))
NODE_IDS = sorted({node for row in TABLE_ROWS for node in row.node_ids})


def test_every_case_of_the_suite_has_rows():
    assert {row.case for row in TABLE_ROWS} == CASES


def test_every_row_names_tests_or_says_it_is_still_being_written():
    unfounded = [row.text for row in TABLE_ROWS if not row.node_ids and TBD not in row.text]
    assert unfounded == []


@pytest.mark.parametrize(("file", "name"), NODE_IDS, ids=[f"{f}::{n}" for f, n in NODE_IDS])
def test_every_named_test_exists(file, name):
    assert (repo_root() / file).is_file(), f"{file} does not exist"
    assert named_test(file, name) is not None, f"{file} has no test {name}"


def _security_modules() -> list[str]:
    """The security suite's modules SECURITY.md already names: each of their tests must have a row."""
    return sorted({file for file, _ in NODE_IDS if file.startswith("tests/security/")})


@pytest.mark.parametrize("file", _security_modules())
def test_every_test_of_a_named_security_module_is_in_the_table(file):
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    tests = {name for name, value in vars(module).items() if name.startswith("test_") and inspect.isfunction(value)
             and value.__module__ == module.__name__}
    named = {name for named_file, name in NODE_IDS if named_file == file}
    assert sorted(tests - named) == []


def test_the_parser_finds_node_ids_and_rejects_a_missing_test():
    row = rows("| 7 | x | y | `tests/test_security_table.py::test_every_case_of_the_suite_has_rows[a-b]`, "
               "`tests/test_security_table.py::test_no_such_check` | z |")[0]
    assert row.case == 7 and len(row.node_ids) == 2
    assert named_test(*row.node_ids[0]) is test_every_case_of_the_suite_has_rows
    assert named_test(*row.node_ids[1]) is None
    assert named_test("tests/no_such_module.py", "test_x") is None
    assert Path(TABLE).name == "SECURITY.md"


def test_every_line_of_the_table_can_be_read():
    """A row a person can read: long lists of tests are split over rows of the same case."""
    assert max(len(row.text) for row in TABLE_ROWS) <= 900
