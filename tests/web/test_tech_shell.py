"""The technician view's offline shell (``web/tech_shell.py``): every file the view needs, found
from the pages and the modules' imports, served inside the service worker with a version that
changes with any of their contents."""

from __future__ import annotations

import json
import posixpath
import re
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from web.app import create_app
from web.pages import STATIC_DIR, served
from web.settings import Settings
from web.tech_shell import Served, ShellError, build_shell, references, worker_script

_IMPORT = re.compile(r"""^import\b[^;]*?from\s*"(\.\.?/[\w/.-]+\.js)";""", re.MULTILINE | re.DOTALL)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")))


def shell_of(client: TestClient) -> tuple[str, list[str], str]:
    body = client.get("/sw.js").text
    version = re.search(r'^const VERSION = "([0-9a-f]{16})";', body, re.MULTILINE)
    shell = re.search(r"^const SHELL = (\[.*?\]);", body, re.MULTILINE | re.DOTALL)
    assert version and shell, body[:300]
    return version.group(1), json.loads(shell.group(1)), body


def test_the_worker_carries_every_module_the_view_imports_however_deep(
        client: TestClient) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    _, shell, body = shell_of(client)
    assert body.index("const SHELL") < body.index("self.addEventListener")
    # Followed here by the simplest reading of the modules (one import statement a line).
    todo, graph = ["js/tech/tech.js", "js/shared/login.js"], set()
    while todo:
        name = todo.pop()
        if name not in graph:
            graph.add(name)
            text = (STATIC_DIR / name).read_text(encoding="utf-8")
            todo += [posixpath.normpath(posixpath.join(posixpath.dirname(name), m))
                     for m in _IMPORT.findall(text)]
    assert {f"/static/{name}" for name in graph} <= set(shell)
    # shared/model.js imports it: the reopened view needs it
    assert "/static/js/shared/chunks.js" in shell
    assert {"/tech", "/login", "/manifest.webmanifest", "/static/icon.svg",
            "/static/css/app.css", "/static/css/tech.css", "/static/css/proof.css"} <= set(shell)
    # The board's modules are not the technician's.
    assert not [path for path in shell if path.startswith("/static/js/board/")]
    for path in shell:
        assert client.get(path).status_code == 200, path


def copy_of_static(tmp_path: Path) -> Served:
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    pages = {path: static / file.relative_to(STATIC_DIR)
             for path, file in served([]).pages.items()}
    return Served(pages=pages, mounts={"/static/": static}, generated=frozenset({"/config.js"}))


def test_any_change_to_a_file_of_the_shell_changes_the_version(tmp_path: Path) -> None:
    where = copy_of_static(tmp_path)
    template = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    before = build_shell(where)
    chunks = tmp_path / "static" / "js" / "shared" / "chunks.js"
    chunks.write_text(chunks.read_text(encoding="utf-8") + "\n// the next release\n")
    after = build_shell(where)
    assert after.paths == before.paths and after.digest != before.digest
    assert worker_script(template, after) != worker_script(template, before)
    # A file the view does not use changes nothing.
    board = tmp_path / "static" / "js" / "board" / "board.js"
    board.write_text(board.read_text(encoding="utf-8") + "\n// the board only\n")
    assert build_shell(where) == after
    # Nor does building it again.
    assert worker_script(template, build_shell(where)) == worker_script(template, after)


def test_a_new_module_imported_by_the_view_joins_the_shell(tmp_path: Path) -> None:
    where = copy_of_static(tmp_path)
    tech = tmp_path / "static" / "js" / "tech"
    (tech / "extra.js").write_text(
        'import {\n  deep,\n} from "./sub/deeper.js";\nexport const extra = deep;\n')
    (tech / "sub").mkdir()
    (tech / "sub" / "deeper.js").write_text(
        'export const deep = 1;\nexport { x } from "../../shared/chunks.js";\n')
    jobs = tech / "jobs.js"
    jobs.write_text('import { extra } from "./extra.js";\n' + jobs.read_text(encoding="utf-8"))
    paths = build_shell(where).paths
    assert {"/static/js/tech/extra.js", "/static/js/tech/sub/deeper.js"} <= set(paths)


def test_a_reference_to_a_file_not_served_fails_the_start(tmp_path: Path) -> None:
    where = copy_of_static(tmp_path)
    jobs = tmp_path / "static" / "js" / "tech" / "jobs.js"
    jobs.write_text('import { gone } from "./gone.js";\n' + jobs.read_text(encoding="utf-8"))
    with pytest.raises(ShellError, match=r"/static/js/tech/gone\.js"):
        build_shell(where)
    jobs.write_text('import { thing } from "some-package";\n')
    with pytest.raises(ShellError, match="some-package"):
        build_shell(where)


def test_references_in_pages_modules_styles_and_the_manifest() -> None:
    html = ('<link rel="icon" href="data:,"><link rel="manifest" href="/manifest.webmanifest">'
            '<link rel="stylesheet" href="/static/css/a.css?v=2"><link rel="preconnect" '
            'href="https://tiles.example.org"><script type="module" src="/static/js/a.js">'
            '</script><a href="/elsewhere">x</a>')
    assert references("/tech", ".html", html) == [
        "/manifest.webmanifest", "/static/css/a.css", "/static/js/a.js"]
    js = ('// import { no } from "./comment.js" is not a statement\n'
          'import a from "./a.js";\nimport "../side.js";\nexport * from "/abs.js";\n'
          'import {\n  b,\n  c,\n} from "./b.js";\nconst lazy = () => import("./lazy.js");\n'
          'const text = "https://example.org/x.js";\n')
    assert sorted(references("/static/js/m.js", ".js", js)) == [
        "/abs.js", "/static/js/a.js", "/static/js/b.js", "/static/js/lazy.js", "/static/side.js"]
    css = '@import url("./base.css");\n.x { background: url(../img/x.svg) } .y { b: url(data:a) }'
    assert sorted(references("/static/css/m.css", ".css", css)) == [
        "/static/css/base.css", "/static/img/x.svg"]
    manifest = json.dumps({"start_url": "/tech", "icons": [{"src": "/static/icon.svg"}]})
    assert references("/manifest.webmanifest", ".webmanifest", manifest) == ["/static/icon.svg"]
