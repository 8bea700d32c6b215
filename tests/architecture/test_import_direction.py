"""Apps import downward only: tempusmail <- domains <- accounts <- security <- webmail_settings.
Every import counts, module-level and inside functions alike; only the root modules that
compose all apps (settings, the URL confs, the OpenAPI document) may look up."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["tempusmail", "domains", "accounts", "security", "webmail_settings"]
COMPOSERS = {
    "tempusmail/settings.py",
    "tempusmail/urls.py",
    "tempusmail/api_urls.py",
    "tempusmail/openapi.py",
}


def imported_modules(source: str, package: list[str]) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the source, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def layer(module: str) -> int | None:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def app_files():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_every_import_points_down_or_sideways():
    upward = []
    for path in app_files():
        name = str(path.relative_to(ROOT))
        if name in COMPOSERS:
            continue
        own = layer(name.replace("/", "."))
        package = list(path.relative_to(ROOT).parts[:-1])
        for line, module in imported_modules(path.read_text(), package):
            target = layer(module)
            if target is not None and target > own:
                upward.append(f"{name}:{line} imports {module}")
    assert upward == []


def test_the_walk_sees_imports_inside_functions_and_relative_ones():
    source = "def f():\n    from security import services\n\nfrom ..accounts import models\n"
    assert imported_modules(source, ["domains", "sub"]) == [
        (4, "domains.accounts"),
        (2, "security"),
    ]
