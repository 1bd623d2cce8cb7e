"""Response bodies, byte for byte as the seed document shows them.

v2 XML follows the seed: an XML declaration, then the document indented with two spaces for
``<invoice>`` and one space inside ``<hash>`` (the seed's error body), and a final newline. Text is
escaped for ``&``, ``<`` and ``>`` only, so ``parameter's`` stays as the seed prints it. JSON is
compact UTF-8 (``{"invoice":{"invoice_id":1}}``).
"""

from __future__ import annotations

import json
from typing import Any

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8"}


def xml_text(value: str) -> str:
    """Escape element text as the seed does: ``&``, ``<``, ``>``."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_element(name: str, value: Any, indent: str, level: int) -> list[str]:
    pad = indent * level
    if isinstance(value, dict):
        lines = [f"{pad}<{name}>"]
        for key, item in value.items():
            lines += _xml_element(key, item, indent, level + 1)
        return [*lines, f"{pad}</{name}>"]
    if isinstance(value, list):
        lines = [f'{pad}<{name} type="array">']
        singular = name[:-1] if name.endswith("s") else "item"
        for item in value:
            lines += _xml_element(singular, item, indent, level + 1)
        return [*lines, f"{pad}</{name}>"]
    if value is None:
        return [f'{pad}<{name} nil="true"/>']
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return [f"{pad}<{name}>{xml_text(text)}</{name}>"]


def xml_document(root: str, value: dict[str, Any], *, indent: str = "  ") -> bytes:
    """``value`` as an XML document under ``root``, with declaration and final newline."""
    return (XML_DECLARATION + "\n".join(_xml_element(root, value, indent, 0)) + "\n").encode("utf-8")


def json_document(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def v2_body(fmt: str, root: str, value: dict[str, Any]) -> bytes:
    """A v2 success body: ``{root: value}`` in JSON, ``<root>...</root>`` in XML."""
    if fmt == "xml":
        return xml_document(root, value)
    return json_document({root: value})


def v2_error(fmt: str, message: str, request: str) -> bytes:
    """A v2 error body: ``{"message", "request"}`` in JSON, ``<hash>`` in XML (the seed's shapes)."""
    if fmt == "xml":
        return xml_document("hash", {"message": message, "request": request}, indent=" ")
    return json_document({"message": message, "request": request})


def value_not_in_set(parameters: list[str]) -> str:
    """The seed's message for values outside their sets, naming the parameters."""
    return f"One or more parameter's value not in defined set ({', '.join(parameters)}). See documentation."
