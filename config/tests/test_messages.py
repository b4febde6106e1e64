"""Each user-facing rule has one message, said in one place (issue 28; STYLE, "Errors").

A *message constant* is a module-level assignment to a name starting with `MSG_`
(`MSG_X = "..."`). Its name is unique in the project: two modules never define the same one.

A constant's *checker* is the module whose code decides the rule and says its message: a
module holding a reference to the constant (`MSG_X` or `module.MSG_X`) that is
- not an import,
- not inside documentation: a call of `extend_schema`, `error_response`, `error_responses`,
  `OpenApiExample` or `OpenApiResponse`, or a `help_text=` argument,
- not inside a comparison (reading a service's answer to word it again is not checking it),
- not inside the definition of another message constant (`MSG_Y = f"... {MSG_X}"`).

Every message constant has exactly one checker module: none means it is dead, more than one
means the rule is decided in several places. The analysis reads the source (AST) of every
project module except tests, migrations, and the `.venv`, `var`, `bench` and `testing` trees.
"""
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_TREES = {".venv", "var", "bench", "testing", "node_modules"}
DOCUMENTATION_CALLS = {"extend_schema", "error_response", "error_responses", "OpenApiExample", "OpenApiResponse"}
DOCUMENTATION_KEYWORDS = {"help_text"}
PREFIX = "MSG_"


def project_modules(root=ROOT):
    """(dotted module name, path) of every non-test, non-migration module of the project."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] in SKIPPED_TREES or parts[0].startswith("."):
            continue
        if "tests" in parts or "migrations" in parts:
            continue
        if path.name.startswith("test_") or path.name in {"tests.py", "conftest.py"}:
            continue
        yield ".".join(path.relative_to(root).with_suffix("").parts), path


def _is_message_name(name):
    return name.startswith(PREFIX)


def message_definitions(tree):
    """The message constants a module defines (module-level `MSG_* = ...`)."""
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names.extend(t.id for t in targets if isinstance(t, ast.Name) and _is_message_name(t.id))
    return names


def _called_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _defines_a_message(node):
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and _is_message_name(t.id) for t in node.targets)
    return isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and _is_message_name(node.target.id)


def _does_not_check(node):
    """True for a node whose contents only document, compare or define messages."""
    if isinstance(node, ast.Call) and _called_name(node) in DOCUMENTATION_CALLS:
        return True
    if isinstance(node, ast.keyword) and node.arg in DOCUMENTATION_KEYWORDS:
        return True
    return isinstance(node, ast.Compare) or _defines_a_message(node)


def checked_messages(tree):
    """The message constant names a module checks (references of the kind the docstring counts)."""
    found = set()

    def visit(node):
        if _does_not_check(node):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and _is_message_name(node.id):
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and _is_message_name(node.attr):
            found.add(node.attr)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)  # imports hold aliases, never names, so they are not references
    return found


def analyse(sources):
    """{module: source text} -> (definitions {name: [modules]}, checkers {name: {modules}})."""
    definitions, checkers = defaultdict(list), defaultdict(set)
    for module, source in sources.items():
        tree = ast.parse(source, filename=module)
        for name in message_definitions(tree):
            definitions[name].append(module)
        for name in checked_messages(tree):
            checkers[name].add(module)
    return dict(definitions), {name: checkers.get(name, set()) for name in definitions}


def violations(sources):
    """Human-readable lines, one per message constant that breaks the rule."""
    definitions, checkers = analyse(sources)
    problems = []
    for name in sorted(definitions):
        if len(definitions[name]) > 1:
            problems.append(f"{name} is defined in several modules: {', '.join(sorted(definitions[name]))}")
        defined_in, modules = ", ".join(sorted(definitions[name])), sorted(checkers[name])
        if not modules:
            problems.append(f"{name} ({defined_in}) has no checker: nothing says it")
        elif len(modules) > 1:
            problems.append(f"{name} ({defined_in}) is checked by several modules: {', '.join(modules)}")
    return problems


def _project_sources():
    return {module: path.read_text() for module, path in project_modules()}


# The analysis itself, on synthetic modules.

RULES = '''
MSG_ONE = "One checker."
MSG_TWO = "Two checkers."
MSG_NONE = "No checker."
MSG_COMPOSED = f"{MSG_NONE} Composed."


def check(value):
    if not value:
        raise ValueError(MSG_ONE)
    return MSG_TWO
'''

CALLER = '''
from rules import MSG_COMPOSED, MSG_NONE, MSG_ONE, MSG_TWO
import rules


@extend_schema(responses={400: OpenApiResponse(description=MSG_NONE)}, examples=[OpenApiExample("x", MSG_ONE)])
def view(request, answer):
    field = Field(help_text=MSG_COMPOSED)
    if answer.message == MSG_ONE:
        return rules.MSG_TWO
    return error_response(400, MSG_NONE)
'''


def test_the_analysis_counts_zero_one_and_two_checkers():
    definitions, checkers = analyse({"rules": RULES, "caller": CALLER})

    assert definitions == {name: ["rules"] for name in ("MSG_ONE", "MSG_TWO", "MSG_NONE", "MSG_COMPOSED")}
    assert checkers == {"MSG_ONE": {"rules"}, "MSG_TWO": {"caller", "rules"}, "MSG_NONE": set(), "MSG_COMPOSED": set()}


def test_the_analysis_names_each_violation_and_its_modules():
    duplicate = 'MSG_ONE = "Said again."\nprint(MSG_ONE)\n'

    assert violations({"rules": RULES, "caller": CALLER, "copy": duplicate}) == [
        "MSG_COMPOSED (rules) has no checker: nothing says it",
        "MSG_NONE (rules) has no checker: nothing says it",
        "MSG_ONE is defined in several modules: copy, rules",
        "MSG_ONE (copy, rules) is checked by several modules: copy, rules",
        "MSG_TWO (rules) is checked by several modules: caller, rules",
    ]


def test_the_analysis_reads_every_project_module_but_tests_and_migrations():
    modules = dict(project_modules())

    assert "config.errors" in modules and "console.urls" in modules
    assert not [m for m in modules if ".tests." in m or ".migrations." in m or m.split(".")[0] in SKIPPED_TREES]


# The project.


def test_every_message_constant_has_one_name_and_one_checker_module():
    problems = violations(_project_sources())
    assert not problems, "\n".join(problems)
