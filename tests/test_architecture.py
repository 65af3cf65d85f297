"""The layers build one way (DESIGN.md): shell, accounts, audit, programs, participants,
sessions, then reminders, reports, onboarding and authorizations (side by side, never importing
each other), then the two faces, staff and portal, which never import each other either.
Every import counts, at module level and inside functions alike: a module that imports
against the order fails here, and so does a module without a docstring saying its job."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top; a package may import only packages on a lower rung (or its own).
LAYERS = ["iop_clinic", "accounts", "audit", "programs", "participants", "sessions",
          ("reminders", "reports", "onboarding", "authorizations"), ("staff", "portal")]
RANK = {name: rank for rank, layer in enumerate(LAYERS)
        for name in (layer if isinstance(layer, tuple) else (layer,))}
# The root URLconf is the shell's one module that names the apps (it includes their URLs).
MAY_IMPORT_ANY_APP = {"iop_clinic/urls.py"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, *, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports, anywhere in it, with relative imports made absolute."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                names.add(node.module)
    return names


def wrong_way(importer: str, imported: str) -> bool:
    """True when `importer` (a module) may not import `imported` under the layer order."""
    mine, theirs = importer.split(".")[0], imported.split(".")[0]
    if theirs not in RANK or mine == theirs:
        return False
    return RANK[theirs] >= RANK[mine]


def project_modules():
    for package in RANK:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path


def test_it_flags_a_wrong_way_import_at_module_level_and_inside_a_function():
    source = (
        "from programs.models import Site\n"
        "import portal.views\n"
        "def helper():\n"
        "    from reminders.replan import reminders_replan_on_commit\n"
        "    from . import selectors\n"
    )
    imports = imported_modules(source, module="sessions.services.schedule")
    assert {"portal.views", "reminders.replan", "sessions.services"} <= imports
    flagged = {name for name in imports if wrong_way("sessions.services.schedule", name)}
    assert flagged == {"portal.views", "reminders.replan"}


def test_it_keeps_the_two_faces_apart():
    assert wrong_way("staff.views.care", "portal.selectors")
    assert wrong_way("portal.views", "staff.access")
    assert not wrong_way("staff.views.care", "reminders.selectors")


@pytest.mark.parametrize("package", sorted(RANK))
def test_it_keeps_each_package_from_importing_upward(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if relative in MAY_IMPORT_ANY_APP:
            continue
        module = module_name(path)
        for name in sorted(imported_modules(path.read_text(), module=module,
                                            is_package=path.name == "__init__.py")):
            if wrong_way(module, name):
                offenders.append(f"{relative} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_it_gives_every_module_a_docstring_saying_its_job():
    missing = [str(path.relative_to(ROOT)) for path in project_modules()
               if "migrations" not in path.parts and path.read_text().strip()
               and ast.get_docstring(ast.parse(path.read_text())) is None]
    assert not missing, "modules without a docstring:\n" + "\n".join(missing)


def test_it_keeps_every_app_under_a_third_of_the_code():
    lines = {package: sum(len(path.read_text().splitlines())
                          for path in (ROOT / package).rglob("*.py"))
             for package in RANK}
    total = sum(lines.values())
    too_big = {package: f"{count / total:.0%}" for package, count in lines.items()
               if count > total / 3}
    assert not too_big, too_big
