"""Apps build one way (DESIGN.md): participants on programs, sessions on both, the portal on all
three; nothing points back. A module that imports against that direction fails here."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each app, and the apps it must never import.
FORBIDDEN = {
    "programs": {"participants", "sessions", "portal"},
    "participants": {"sessions", "portal"},
    "sessions": {"portal"},
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_it_keeps_each_app_from_importing_the_apps_built_on_it(app):
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for module in sorted(imported_modules(path))
        if module.split(".")[0] in FORBIDDEN[app]
    ]
    assert not offenders, "\n".join(offenders)
