"""Dependencies run one way (README, "Map of the code"): an app may use the apps below it,
never the ones above, in imports and in raw SQL alike.

    config  <  tenants  <  accounts  <  catalogue  <  students  <  attempts  <  console

Tests, migrations and the URL confs that assemble every app (config/urls*.py) are outside
the rule."""
import ast
import re
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["config", "tenants", "accounts", "catalogue", "students", "attempts", "console"]
RANK = {name: rank for rank, name in enumerate(LAYERS)}
ASSEMBLERS = {"config/urls.py", "config/urls_public.py"}


def _modules():
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            parts = set(path.relative_to(ROOT).parts)
            if "tests" in parts or "migrations" in parts or relative in ASSEMBLERS:
                continue
            yield layer, relative, ast.parse(path.read_text(), filename=relative)


def _imported_layers(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".", 1)[0]
            if top in RANK:
                yield node.lineno, top


def _table_owners():
    """db_table -> the app (layer) whose model owns it, from Django's registry."""
    owners = {}
    for model in apps.get_models(include_auto_created=True):
        layer = model.__module__.split(".", 1)[0]
        if layer in RANK:
            owners[model._meta.db_table] = layer
    return owners


def test_the_layer_order_names_every_project_app():
    project_apps = {config.name.split(".", 1)[0] for config in apps.get_app_configs() if (ROOT / config.name.split(".")[0]).is_dir()}
    assert project_apps <= set(LAYERS), project_apps - set(LAYERS)


def test_no_module_imports_an_app_above_its_own():
    upward = [
        f"{relative}:{line} imports {top}"
        for layer, relative, tree in _modules()
        for line, top in _imported_layers(tree)
        if RANK[top] > RANK[layer]
    ]
    assert upward == []


def test_no_raw_sql_reads_a_table_of_an_app_above_its_own():
    owners = _table_owners()
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, owners), key=len, reverse=True)) + r")\b")
    upward = []
    for layer, relative, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for table in set(pattern.findall(node.value)):
                    if RANK[owners[table]] > RANK[layer]:
                        upward.append(f"{relative}:{node.lineno} names {table} ({owners[table]})")
    assert upward == []


@pytest.mark.parametrize("prefix", ["apis", "selectors", "services", "serializers", "urls", "filters"])
def test_no_layer_lives_in_a_file_name_prefix(prefix):
    """A feature with more than one layer is a package (students/groups/services.py), never a
    prefixed file (students/group_services.py)."""
    prefixed = [
        path.relative_to(ROOT).as_posix()
        for layer in LAYERS
        for path in (ROOT / layer).rglob(f"*_{prefix}.py")
        if "tests" not in path.parts
    ]
    assert prefixed == []
