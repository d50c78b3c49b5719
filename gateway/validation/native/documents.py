"""document() look-ups of the code lists an artefact ships beside its stylesheet, loaded once per process."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gateway.validation.native.runtime import Doc, XPathError

_loaded: dict[Path, etree._Element] = {}


def load_document(R, name: str) -> list:
    """The document node of `name`, relative to the running artefact's stylesheet (R.base)."""
    path = (Path(R.base) / name).resolve()
    if Path(R.base).resolve() not in path.parents:
        raise XPathError(f"FODC0002: document({name!r}) outside the artefact's folder")
    root = _loaded.get(path)
    if root is None:
        try:
            root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        except (OSError, etree.XMLSyntaxError) as exc:
            raise XPathError(f"FODC0002: cannot read {name}: {exc}") from exc
        _loaded[path] = root
    doc = R.docs.get(path)
    if doc is None:
        doc = R.docs[path] = Doc(root, len(R.docs) + 1)
    return [doc]
