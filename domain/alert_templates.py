"""Alert message templates: a small, safe placeholder syntax.

A template is text with placeholders in braces, ``{order_id}``, ``{store}``, ``{technician}``:
each a plain name from the fields its alert kind offers (``domain/alert_kinds.py``). Nothing else
is allowed: no positional ``{}``, no attribute or index access (``{a.b}``, ``{a[0]}``), no
conversion (``!r``) and no format spec (``:>10``), so an admin's template can never reach past the
values it was given. ``{{`` and ``}}`` are literal braces. Rendering uses ``string.Formatter``
restricted to those fields.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import ValidationFailed

#: The longest template an admin may store (a rendered message is cut at 2,000 characters).
MAX_TEMPLATE = 1000


def placeholders(template: str) -> list[str]:
    """The placeholder names of ``template``, in order; ``ValidationFailed`` for anything but
    plain names (or for unbalanced braces)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValidationFailed(f"the template's braces do not match: {error}; write {{{{ and "
                               "}} for a literal brace", field="template") from error
    names = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if not name or not name.isidentifier():
            raise ValidationFailed(f"placeholder {{{name}}} is not a plain name like {{store}}",
                                   field="template", placeholder=name)
        if spec or conversion:
            raise ValidationFailed(f"placeholder {{{name}}} may not carry a format or a "
                                   "conversion", field="template", placeholder=name)
        names.append(name)
    return names


def check_template(template: str, fields: Sequence[str]) -> None:
    """Refuse an empty or too long template, or one naming a field its kind does not offer
    (the error names it, and the fields that are offered)."""
    if not template.strip():
        raise ValidationFailed("the template must not be empty", field="template")
    if len(template) > MAX_TEMPLATE:
        raise ValidationFailed(f"the template is longer than {MAX_TEMPLATE} characters",
                               field="template")
    offered = set(fields)
    for name in placeholders(template):
        if name not in offered:
            raise ValidationFailed(
                f"unknown placeholder {{{name}}}; this kind offers "
                + ", ".join(f"{{{f}}}" for f in sorted(offered)),
                field="template", placeholder=name, placeholders=sorted(offered))


class _Restricted(string.Formatter):
    """Looks names up in the given fields only; no attributes, indexes, conversions or specs."""

    def get_field(self, field_name: str, args: Sequence[Any],
                  kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        return (kwargs.get(field_name, ""), field_name)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value

    def format_field(self, value: Any, format_spec: str) -> str:
        return str(value)


_FORMATTER = _Restricted()


def render(template: str, fields: Mapping[str, str], limit: int = 2000) -> str:
    """``template`` with its placeholders filled from ``fields`` (a field without a value
    renders empty); the template must have passed ``placeholders``."""
    placeholders(template)
    return _FORMATTER.vformat(template, (), dict(fields))[:limit]
