"""The portal's gettext catalogues: extracting their messages, checking them, bringing them up to date.

Two domains (see `i18n`): `messages`, the portal's own words, and `core`, what the rest of the gateway
writes and the portal shows.  Each has a pybabel mapping beside its catalogues (translations/<domain>.cfg,
paths from the `gateway` folder) and a .po and a compiled .mo per language.

`python -m gateway.portal.catalogues` extracts the messages of the source tree, merges them into every
.po (translations kept, vanished messages dropped, English filled with the message itself), compiles the
.mo files and lists the messages French still lacks: translate them in fr/LC_MESSAGES/<domain>.po, then
run it again.  `problems()` is what the test suite checks.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from gateway.portal.i18n import LANGUAGES, TRANSLATIONS

DOMAINS = ("messages", "core")
SOURCE = Path(__file__).resolve().parents[1]  # the `gateway` folder, where the mappings' paths start
SOURCE_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"\{\w+\}")


def po_path(domain: str, lang: str, translations: Path = TRANSLATIONS) -> Path:
    return translations / lang / "LC_MESSAGES" / f"{domain}.po"


def extracted(domain: str, translations: Path = TRANSLATIONS) -> Catalog:
    """The messages the source marks for `domain`, as pybabel extracts them with the domain's mapping."""
    with (translations / f"{domain}.cfg").open(encoding="utf-8") as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    catalog = Catalog(domain=domain)
    for _filename, _line, message, comments, context in extract_from_dir(SOURCE, method_map, options_map):
        catalog.add(message, None, auto_comments=comments, context=context)
    return catalog


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _forms(message: Message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, list | tuple) else (string,)


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, list | tuple) else (message.id,)


def _compiled(path: Path) -> dict[tuple[str, ...], tuple[str, ...]]:
    if not path.is_file():
        return {}
    with path.open("rb") as file:
        return {_ids(message): _forms(message) for message in read_mo(file) if message.id}


def problems(translations: Path = TRANSLATIONS) -> list[str]:
    """What is wrong with the catalogues: a message extracted but missing or untranslated in a language (or fuzzy, or with
    other placeholders), a translation of a message the source no longer has, a .mo that is not its .po compiled."""
    found = []
    for domain in DOMAINS:
        wanted = {_ids(message): message for message in extracted(domain, translations) if message.id}
        for lang in LANGUAGES:
            path = po_path(domain, lang, translations)
            where = f"{lang}/{domain}.po"
            if not path.is_file():
                found.append(f"{where}: missing")
                continue
            catalogue = _read_po(path)
            have = {_ids(message): message for message in catalogue if message.id}
            found += [f"{where}: no translation of {key[0]!r}" for key in wanted if key not in have]
            found += [f"{where}: {key[0]!r} is not in the source any more" for key in have if key not in wanted]
            for key, message in have.items():
                forms = _forms(message)
                if not all(forms) or len(forms) != (catalogue.num_plurals if message.pluralizable else 1):
                    found.append(f"{where}: {key[0]!r} is not translated")
                elif message.fuzzy:
                    found.append(f"{where}: {key[0]!r} is marked fuzzy")
                elif any(set(_PLACEHOLDER.findall(form)) != set(_PLACEHOLDER.findall(_ids(message)[-1])) for form in forms):
                    found.append(f"{where}: {key[0]!r} has other placeholders in its translation")
            if _compiled(path.with_suffix(".mo")) != {key: _forms(message) for key, message in have.items() if all(_forms(message))}:
                found.append(f"{lang}/{domain}.mo: not the compiled {domain}.po (python -m gateway.portal.catalogues)")
    return found


def update(translations: Path = TRANSLATIONS) -> list[str]:
    """Merge the extracted messages into every catalogue and compile them; returns the French messages still untranslated."""
    missing = []
    for domain in DOMAINS:
        template = extracted(domain, translations)
        for lang in LANGUAGES:
            path = po_path(domain, lang, translations)
            catalogue = _read_po(path) if path.is_file() else Catalog(locale=lang, domain=domain, project="PDP Gateway")
            template.creation_date = catalogue.creation_date  # the header changes only when a message does
            catalogue.update(template, no_fuzzy_matching=True)
            catalogue.obsolete.clear()
            for message in catalogue:
                if message.id and lang == SOURCE_LANGUAGE:
                    message.string = list(_ids(message)) + [_ids(message)[-1]] * (catalogue.num_plurals - 2) if message.pluralizable else message.id
                elif message.id and not all(_forms(message)):
                    missing.append(f"{lang}/{domain}.po: {message.id!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as file:
                write_po(file, catalogue, width=120, no_location=True, ignore_obsolete=True)
            with path.with_suffix(".mo").open("wb") as file:
                write_mo(file, catalogue)
    return missing


if __name__ == "__main__":
    untranslated = update()
    print("\n".join(untranslated) or "every message is translated")
    sys.exit(1 if untranslated else 0)
