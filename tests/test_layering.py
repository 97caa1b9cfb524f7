"""Architecture pins: the pure math imports no I/O, UI or model code; the API is re-exported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import surelabel

SRC = Path(surelabel.__file__).parent
PURE = {"scores", "bounds", "thresholds", "query", "rng", "exceptions", "spending"}
ALLOWED = {"__future__", "functools", "collections", "dataclasses", "math", "typing", "numpy", "scipy"}


@pytest.mark.parametrize("name", sorted(PURE))
def test_pure_modules_import_only_numeric_libraries_and_each_other(name):
    tree = ast.parse((SRC / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = ["surelabel." + (node.module or "") if node.level else node.module or ""]
        else:
            continue
        for target in targets:
            root, _, rest = target.partition(".")
            if root == "surelabel":
                assert rest.split(".")[0] in PURE, f"{name}.py imports {target}"
            else:
                assert root in ALLOWED, f"{name}.py imports {target}"


def test_every_public_name_is_documented_with_an_example_or_is_a_class_or_module():
    for name in surelabel.__all__:
        obj = getattr(surelabel, name)
        if name.startswith("__") or isinstance(obj, (dict, str)):
            continue
        assert obj.__doc__, f"surelabel.{name} has no docstring"
