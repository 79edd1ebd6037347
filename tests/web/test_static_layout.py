"""The front end's modules sit in folders named after whose they are (``web/static/js/``):
``board/`` (the dispatcher / store-manager board), ``tech/`` (the technician view), ``customer/``
(the customer's tracking page), ``pages/`` (the other staff screens) and ``shared/`` (what more
than one of them uses). A screen's modules import their own folder's and ``shared/``'s, never
another screen's; ``shared/`` imports only ``shared/``. Every import, every page's script and every
path the service worker precaches is a file that is served."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from web.pages import PAGES, STATIC_DIR, served
from web.tech_shell import build_shell, references

FOLDERS = {"board", "tech", "customer", "pages", "shared"}
#: Served per request, not from a file (web/pages.py).
GENERATED = {"/config.js"}
#: Mounted from installed packages, not from web/static/ (web/pages.py).
VENDOR = "/vendor/"


def _served_file(static: Path, path: str) -> bool:
    """Whether ``path`` answers with a file of ``static``: a page (``/tech``, the manifest) or a
    file under ``/static/``; a path made per request counts too."""
    pages = {at: static / file.relative_to(STATIC_DIR) for at, file in served([]).pages.items()}
    if path in GENERATED:
        return True
    if path in pages:
        return pages[path].is_file()
    rest = PurePosixPath(path.removeprefix("/static/"))
    return path.startswith("/static/") and ".." not in rest.parts and (static / rest).is_file()


def layout_problems(static: Path) -> list[str]:
    """What breaks the rules in the static folder ``static`` (empty when it holds them)."""
    problems = []
    for file in sorted((static / "js").rglob("*.js")):
        name = file.relative_to(static).as_posix()
        folder = file.relative_to(static / "js").parts[0]
        if folder not in FOLDERS:
            problems.append(f"{name}: not in a folder of {sorted(FOLDERS)}")
            continue
        for ref in references(f"/static/{name}", ".js", file.read_text(encoding="utf-8")):
            if ref in GENERATED:
                continue
            if not _served_file(static, ref):
                problems.append(f"{name} imports {ref}, which is no file")
                continue
            to = PurePosixPath(ref).parts[3] if ref.startswith("/static/js/") else ""
            if to not in {folder, "shared"}:
                problems.append(f"{name} imports {ref}: {folder}/ may import only its own and"
                                " shared/ modules (move what both use to shared/)")
    for page in PAGES:
        html = (static / page).read_text(encoding="utf-8")
        for ref in references(f"/{page}", ".html", html):
            if not ref.startswith(VENDOR) and not _served_file(static, ref):
                problems.append(f"{page} links {ref}, which is no file")
    return problems


def test_every_module_sits_with_its_screen_and_imports_what_exists() -> None:
    assert layout_problems(STATIC_DIR) == []
    assert {p.name for p in (STATIC_DIR / "js").iterdir() if p.is_dir()} == FOLDERS
    assert not list((STATIC_DIR / "js").glob("*.js"))  # no module outside the folders


def test_every_path_the_service_worker_precaches_is_a_file() -> None:
    shell = build_shell(served([Mount("/static", StaticFiles(directory=STATIC_DIR))]))
    assert [p for p in shell.paths if not _served_file(STATIC_DIR, p)] == []
    modules = [p for p in shell.paths if p.startswith("/static/js/")]
    assert "/static/js/tech/tech.js" in modules and "/static/js/shared/login.js" in modules
    # The technician's phone caches its own modules and the shared ones, nothing of the board's.
    assert {PurePosixPath(p).parts[3] for p in modules} == {"tech", "shared"}


def test_a_module_that_breaks_the_rules_is_named(tmp_path: Path) -> None:
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    js = static / "js"
    (js / "tech" / "jobs.js").write_text(
        'import { Queue } from "../board/queue.js";\n'
        + (js / "tech" / "jobs.js").read_text(encoding="utf-8"))
    (js / "board" / "kpi.js").write_text(
        'import { thing } from "./gone.js";\n'
        + (js / "board" / "kpi.js").read_text(encoding="utf-8"))
    (js / "shared" / "api.js").write_text(
        'export { Model } from "../tech/tech.js";\n'
        + (js / "shared" / "api.js").read_text(encoding="utf-8"))
    (js / "stray.js").write_text("export const x = 1;\n")
    (static / "login.html").write_text(
        (static / "login.html").read_text(encoding="utf-8").replace("shared/login.js", "login.js"))
    assert layout_problems(static) == [
        "js/board/kpi.js imports /static/js/board/gone.js, which is no file",
        "js/shared/api.js imports /static/js/tech/tech.js: shared/ may import only its own and"
        " shared/ modules (move what both use to shared/)",
        "js/stray.js: not in a folder of ['board', 'customer', 'pages', 'shared', 'tech']",
        "js/tech/jobs.js imports /static/js/board/queue.js: tech/ may import only its own and"
        " shared/ modules (move what both use to shared/)",
        "login.html links /static/js/login.js, which is no file",
    ]
