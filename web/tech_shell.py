"""The technician view's offline shell: every file ``/tech`` (and ``/login``, where a sign-out
lands) needs to open without a network, found from the files themselves, and a version that is
the hash of their contents.

Built once when the app starts (``web/pages.py``): from each entry page the stylesheets, scripts,
manifest and icons it links; from each module its ``import ... from "./x.js"`` (and ``export ...
from``, ``import("...")``) statements, followed transitively; from each stylesheet its
``@import`` and ``url(...)``; from the manifest its icons. A module imported by a module of the
view is therefore cached however deep it sits (``model.js`` imports ``chunks.js``); a reference to
a file that is not served fails the start, not a technician's day.

The service worker (``/sw.js``) is served with the list and the version written into it, so a
deploy that changes any of these files changes the worker's bytes: the browser installs the new
worker, which caches the new files under a new name and deletes the old version's cache.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

#: Where the view starts, and the sign-in page a sign-out (or an ended session) lands on.
ENTRY_PAGES = ("/tech", "/login")
#: Link relations whose target a page needs to render (not prefetch hints, not navigation).
_LINKED = {"stylesheet", "manifest", "icon", "apple-touch-icon", "modulepreload"}
_STATIC_IMPORT = re.compile(
    r"^\s*(?:import|export)\b[^;'\"`]*?\bfrom\s*(['\"])(?P<spec>[^'\"]+)\1"
    r"|^\s*import\s*(['\"])(?P<bare>[^'\"]+)\3", re.MULTILINE)
_DYNAMIC_IMPORT = re.compile(r"\bimport\(\s*(['\"])(?P<spec>[^'\"]+)\1\s*\)")
_CSS_IMPORT = re.compile(r"@import\s+(?:url\(\s*)?(['\"]?)(?P<spec>[^'\")\s]+)\1")
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?P<spec>[^'\")]+)\1\s*\)")


class ShellError(RuntimeError):
    """A file of the view refers to something the app does not serve."""


@dataclass(frozen=True)
class Shell:
    #: Every path the view needs, sorted (pages, modules, styles, manifest, icons).
    paths: tuple[str, ...]
    #: SHA-256 (hex) over each path and its file's bytes.
    digest: str


@dataclass(frozen=True)
class Served:
    """How the app answers paths: ``pages`` (exact path -> file, e.g. ``/tech`` -> tech.html),
    ``mounts`` (prefix such as ``/static/`` -> directory) and ``generated`` (paths whose body is
    made per request, listed but not read here: ``/config.js``)."""

    pages: Mapping[str, Path]
    mounts: Mapping[str, Path]
    generated: frozenset[str] = frozenset()

    def file(self, path: str) -> Path | None:
        if path in self.pages:
            return self.pages[path]
        for prefix, directory in self.mounts.items():
            rest = PurePosixPath(path.removeprefix(prefix))
            if path.startswith(prefix) and ".." not in rest.parts and (directory / rest).is_file():
                return directory / rest
        return None


def build_shell(served: Served, entries: Iterable[str] = ENTRY_PAGES) -> Shell:
    """Every path reachable from ``entries``, and the hash of their contents."""
    found: dict[str, bytes | None] = {}
    todo = list(entries)
    while todo:
        path = todo.pop()
        if path in found:
            continue
        if path in served.generated:
            found[path] = None  # its body is hashed when the worker is served
            continue
        file = served.file(path)
        if file is None:
            raise ShellError(f"the technician view needs {path}, which is not served")
        data = file.read_bytes()
        found[path] = data
        todo.extend(references(path, file.suffix, data.decode("utf-8", errors="replace")))
    digest = hashlib.sha256()
    for path in sorted(found):
        digest.update(path.encode() + b"\0" + (found[path] or b"") + b"\0")
    return Shell(paths=tuple(sorted(found)), digest=digest.hexdigest())


def references(path: str, suffix: str, text: str) -> list[str]:
    """The same-origin paths a file at ``path`` refers to (resolved, without query or fragment)."""
    if suffix in (".html", ".htm"):
        specs = _html_references(text)
    elif suffix in (".js", ".mjs"):
        specs = [m.group("spec") or m.group("bare") for m in _STATIC_IMPORT.finditer(text)]
        specs += [m.group("spec") for m in _DYNAMIC_IMPORT.finditer(text)]
        bare = [s for s in specs if not s.startswith(("/", "./", "../"))]
        if bare:
            raise ShellError(f"{path} imports {bare[0]!r}: a browser module needs a path")
    elif suffix == ".css":
        specs = [m.group("spec") for m in _CSS_IMPORT.finditer(text)]
        specs += [m.group("spec") for m in _CSS_URL.finditer(text)]
    elif suffix == ".webmanifest":
        specs = [icon["src"] for icon in json.loads(text).get("icons", []) if "src" in icon]
    else:
        specs = []
    return list(dict.fromkeys(p for p in (_resolve(path, s) for s in specs) if p is not None))


def _resolve(base: str, spec: str) -> str | None:
    parts = urlsplit(spec)
    if parts.scheme or parts.netloc or not parts.path:  # data:, another origin, a bare fragment
        return None
    if parts.path.startswith("/"):
        return posixpath.normpath(parts.path)
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), parts.path))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "link" and _LINKED & set(a.get("rel", "").lower().split()) and a.get("href"):
            self.found.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.found.append(a["src"])


def _html_references(text: str) -> list[str]:
    parser = _Links()
    parser.feed(text)
    return parser.found


def worker_script(template: str, shell: Shell, extra: bytes = b"") -> str:
    """The service worker: ``template`` (web/static/sw.js) after two constants, the version
    (hash of the shell's files, the template and ``extra``: the generated files' bodies) and the
    list of paths."""
    version = hashlib.sha256(
        shell.digest.encode() + template.encode() + extra).hexdigest()[:16]
    head = (f"const VERSION = {json.dumps(version)};\n"
            f"const SHELL = {json.dumps(list(shell.paths), indent=0)};\n")
    return head + template
