"""The package dependency table of the design brief, the rule inside ``web/`` that only the
composition root imports the HTTP layer, and the rule that nothing on the production path imports
the VRPTW benchmark solver (``routing/vrptw/``), checked by parsing every import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"domain", "routing", "realtime", "storage", "web"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

#: package -> (first-party packages it may import, third-party packages it may import)
ALLOWED: dict[str, tuple[set[str], set[str] | None]] = {
    "domain": (set(), set()),
    "routing": ({"domain"}, {"ortools", "geopy", "numpy"}),
    "realtime": ({"domain"}, {"redis", "websockets", "pydantic", "httpx"}),
    "storage": ({"domain"}, {"sqlalchemy", "alembic", "asyncpg", "aiosqlite"}),
    "web": (FIRST_PARTY - {"web"}, None),  # the composition root may import anything
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def package_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_the_design_allows(package: str) -> None:
    first_party_allowed, third_party_allowed = ALLOWED[package]
    broken = []
    for path in package_files(package):
        for name in imports_of(path):
            if name == package or name in STDLIB:
                continue
            if name in FIRST_PARTY:
                if name not in first_party_allowed:
                    broken.append(f"{path.relative_to(ROOT)} imports {name}")
            elif third_party_allowed is not None and name not in third_party_allowed:
                broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not broken, "\n".join(broken)


def test_nothing_imports_web() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in FIRST_PARTY - {"web"}
        for path in package_files(package)
        if "web" in imports_of(path)
    ]
    assert not offenders


#: The composition root: the one module that imports the HTTP layer (``web/api/``). It builds the
#: route table from the endpoint modules (``build_api``, which the OpenAPI document reads too) and
#: the app around it. Use cases live in ``domain/services/``, reads in ``storage/``, wiring in
#: ``web/*_wiring.py``; none of them reaches into an endpoint module.
COMPOSITION_ROOT = {"web/app.py"}
HTTP_LAYER = "web.api"


def modules_imported(path: Path, package: str) -> set[str]:
    """The dotted names ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``), its
    relative imports resolved from ``package``, the package the file is in."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imports_under(path: Path, package: str, prefix: str) -> list[str]:
    """The dotted names ``path`` imports that are ``prefix`` or inside it."""
    return sorted(name for name in modules_imported(path, package)
                  if name == prefix or name.startswith(prefix + "."))


def _package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parts[:-1])


def importers_of(prefix: str, inside: str, allowed: set[str]) -> list[str]:
    """Every first-party module outside the folder ``inside`` and not in ``allowed`` that imports
    ``prefix`` or a module inside it, with what it imports."""
    return [
        f"{rel} imports {', '.join(names)}"
        for package in sorted(FIRST_PARTY)
        for path in package_files(package)
        if not (rel := path.relative_to(ROOT).as_posix()).startswith(inside)
        and rel not in allowed
        and (names := imports_under(path, _package_of(path), prefix))
    ]


#: The VRPTW benchmark solver (Solomon instances against best-known solutions). The production
#: path (the dispatch model in ``routing/``, ``web/planning/`` and everything else) never imports
#: it; only the ``dispatch bench vrptw`` command does, inside the command (``bench/routing.py``,
#: outside the packages, uses it too).
BENCHMARK_SOLVER = "routing.vrptw"
BENCHMARK_COMMAND = {"web/cli.py"}

#: Module trees only their own folder and a few named files may import:
#: dotted name -> (its folder, the files outside it that may import it).
RESTRICTED: dict[str, tuple[str, set[str]]] = {
    HTTP_LAYER: ("web/api/", COMPOSITION_ROOT),
    BENCHMARK_SOLVER: ("routing/vrptw/", BENCHMARK_COMMAND),
}


@pytest.mark.parametrize("tree", sorted(RESTRICTED))
def test_a_restricted_tree_is_imported_only_where_allowed(tree: str) -> None:
    offenders = importers_of(tree, *RESTRICTED[tree])
    assert not offenders, "\n".join(offenders)


#: Per restricted tree: a package to write a module in, lines that import the tree from there
#: (absolute and relative), and lines that only look alike.
PLANTED: dict[str, tuple[str, tuple[str, ...], str]] = {
    HTTP_LAYER: (
        "web",
        ("import web.api.auth", "from web.api.problems import ApiError", "from web.api import intake",
         "from web import api", "from .api.problems import ApiError", "from . import api"),
        "from web.intake_wiring import order_intake\nfrom web import clock\n"
        "from .apis import x\nimport web.apiary\n",
    ),
    BENCHMARK_SOLVER: (
        "routing",
        ("import routing.vrptw.solver", "from routing.vrptw.validator import check_vrptw",
         "from routing.vrptw import solver", "from routing import vrptw",
         "from .vrptw.solomon import read_solomon", "from . import vrptw"),
        "from routing.validator import check_plan\nfrom routing import problem\n"
        "from .vrptw_notes import x\nimport routing.vrptwx\n",
    ),
}


@pytest.mark.parametrize("tree", sorted(PLANTED))
def test_the_checker_catches_an_import_of_a_restricted_tree(tmp_path: Path, tree: str) -> None:
    package, bad, look_alikes = PLANTED[tree]
    module = tmp_path / "module.py"
    for line in bad:
        module.write_text(f"from __future__ import annotations\n\n{line}\n")
        assert imports_under(module, package, tree), line
    module.write_text(look_alikes)
    assert imports_under(module, package, tree) == []


def test_routing_and_realtime_do_not_import_each_other() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {other}"
        for package, other in (("routing", "realtime"), ("realtime", "routing"))
        for path in package_files(package)
        if other in imports_of(path)
    ]
    assert not offenders


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom web.app import create_app\n")
    assert imports_of(bad) == {"sqlalchemy", "web"}


def test_no_module_grows_past_the_size_limit() -> None:
    too_long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for package in FIRST_PARTY
        for path in package_files(package)
        if "migrations" not in path.parts
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    ]
    assert not too_long, "\n".join(too_long)


#: Use cases (``domain/services/``) declare no ``Protocol``: what they need of the outside world
#: is a port, and the ports live in ``domain/ports.py``. ``context.py`` is no use case: its
#: ``Recorded`` is the shape of an aggregate the audit helpers take, not a port.
USE_CASES = ROOT / "domain" / "services"
NOT_USE_CASES = {"context.py"}


def protocols_declared(path: Path) -> list[str]:
    """The classes ``path`` declares with ``Protocol`` (``typing.Protocol``, ``Protocol[T]``)
    among their bases."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def is_protocol(base: ast.expr) -> bool:
        if isinstance(base, ast.Subscript):
            base = base.value
        return (isinstance(base, ast.Name) and base.id == "Protocol") or (
            isinstance(base, ast.Attribute) and base.attr == "Protocol")

    return [node.name for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and any(map(is_protocol, node.bases))]


def protocols_in_use_cases(folder: Path) -> list[str]:
    return [f"{path.name} declares {', '.join(names)}"
            for path in sorted(folder.rglob("*.py"))
            if path.name not in NOT_USE_CASES and (names := protocols_declared(path))]


def test_use_cases_declare_no_ports() -> None:
    offenders = protocols_in_use_cases(USE_CASES)
    assert not offenders, "\n".join(offenders) + "\n(ports belong in domain/ports.py)"


def test_the_checker_catches_a_port_declared_in_a_use_case(tmp_path: Path) -> None:
    (tmp_path / "planted.py").write_text(
        "import typing\nfrom typing import Protocol\n\n"
        "class Store(Protocol): ...\n"
        "class Typed(typing.Protocol): ...\n"
        "class Generic(Store, Protocol[T]): ...\n"
        "class Protocols: ...\n"
        "class Fine(ProtocolError): ...\n")
    (tmp_path / "context.py").write_text("from typing import Protocol\n\nclass Recorded(Protocol): ...\n")
    assert protocols_in_use_cases(tmp_path) == ["planted.py declares Store, Typed, Generic"]
