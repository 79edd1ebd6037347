"""The pages ask the server what the user may do (``permissions`` of ``/api/auth/me``, read in
``web/static/js/shared/me.js``); none decides from role names. Comments may name roles; code may not."""

from __future__ import annotations

import re
from pathlib import Path

from domain.roles import Permission, Role

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
_COMMENTS = re.compile(r"/\*.*?\*/|(?<![:\"'`\\])//[^\n]*|<!--.*?-->", re.S)
#: A role's value as a whole string literal (not an HTML attribute value such as name="x").
#: "technician" is also a plain word of the pages (an element id, a kind of marker): as a string
#: it is caught where it is compared or looked up, the other role values anywhere in code.
_ROLE_NAMES = "|".join(r.value for r in Role if r is not Role.TECHNICIAN)
_ROLE_LITERAL = re.compile(
    r"(?<![=\w-])([\"'`])(" + _ROLE_NAMES + r")\1"
    r"|(?:[!=]==?\s*|(?:includes|indexOf|has)\(\s*)([\"'`])technician\3"
    r"|([\"'`])technician\4\s*[!=]==?")
#: Any use of a user's roles in code (roles.some, .roles.includes, user.roles...).
_ROLES = re.compile(r"\broles\b")
_DECLARED = re.compile(r"data-permission=\\?[\"']([^\"'$\\]*)")
_PERMISSION_ATTR = re.compile(r"permissionAttr\(([^)]*)\)")


def _code(path: Path) -> str:
    return _COMMENTS.sub("", path.read_text(encoding="utf-8"))


def _sources() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.suffix in {".js", ".html"})


def test_no_page_decides_from_role_names() -> None:
    found = []
    for path in _sources():
        for number, line in enumerate(_code(path).splitlines(), 1):
            if _ROLE_LITERAL.search(line) or _ROLES.search(line):
                found.append(f"{path.relative_to(STATIC)}:{number}: {line.strip()}")
    assert not found, "ask me.js can(permission) instead:\n" + "\n".join(found)


def test_the_check_catches_a_role_list() -> None:
    """The patterns above are not vacuous: today's kind of code would be caught."""
    code = 'const canAssign = user.roles.some((r) => ["admin", "dispatcher"].includes(r));'
    assert _ROLES.search(code) and _ROLE_LITERAL.search(code)
    assert _ROLE_LITERAL.search("if (x === 'store_manager') {}")
    assert not _ROLE_LITERAL.search('<select name="technician">')  # an attribute, not a role
    assert _ROLE_LITERAL.search('user.kind.every((r) => r === "technician")')
    assert not _ROLE_LITERAL.search(_COMMENTS.sub("", '// e.g. "dispatcher"\nlet a = 1;'))


def test_every_declared_permission_exists() -> None:
    """A button's ``data-permission`` (or ``permissionAttr(...)``) names real permissions."""
    known = {p.value for p in Permission}
    unknown = []
    for path in _sources():
        code = _code(path)
        names = [n for m in _DECLARED.finditer(code) for n in m.group(1).split()]
        names += [n for m in _PERMISSION_ATTR.finditer(code)
                  for n in re.findall(r"[\"']([a-z_]+:[a-z_]+)[\"']", m.group(1))]
        unknown += [f"{path.relative_to(STATIC)}: {n}" for n in names if n not in known]
    assert not unknown, unknown


def test_me_js_is_where_permissions_are_read() -> None:
    me = (STATIC / "js" / "shared" / "me.js").read_text(encoding="utf-8")
    assert "/api/auth/me" in me and "export function can(" in me
