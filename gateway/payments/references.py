"""Finding invoice numbers in what a payer wrote: tolerant to spacing, separators, prefixes and several numbers in one line.  Pure.

The text is cut into letter and digit tokens; consecutive tokens joined without their separators are looked up among the
open invoices' numbers folded the same way ("FA 2026/12" → FA202612), the longest known first, else without the
leading zeros of their numbers ("FA2026-12" for FA2026-000012, "loose"), else by their digits only ("facture 2026-12" →
202612), else by the invoice's last number alone ("facture 12" for FA2026-000012, "serial": weak, the matching engine
wants the amount to agree); each of the last three only when one open invoice has it.  After a number, bare numbers
joined by commas, "et", "and", "&", "/", "+" or "-" name its siblings: the same number with its last digit group
replaced ("FA2026-12, 13 et 14" → FA2026-13, FA2026-14).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"[A-Z]+|\d+")
_JOIN = re.compile(r"^[\s\-/._#:°]*$")
_CONNECTOR = re.compile(r"^[\s,;/+&\-]*(?:(?:ET|AND|UND|Y|E)[\s,;/+&\-]*)?$")
_CONNECTOR_WORDS = {"ET", "AND", "UND", "Y", "E"}
MAX_TOKENS = 6
MIN_DIGITS = 4  # a digits-only lookup needs at least this many digits (amounts and dates are shorter or differ)


_NOT_ALNUM = re.compile(r"[\W_]+")
_NOT_DIGIT = re.compile(r"\D+")


def fold(text: str) -> str:
    """Upper case letters and digits only: how a reference is compared."""
    return _NOT_ALNUM.sub("", text.upper())


def name_key(name: str) -> str:
    """A payer's name as the engine remembers it: folded, without accents (banks drop them: MT940's character set)."""
    return fold("".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)))


def digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


def loose(tokens: list[str]) -> str:
    """Letter and digit tokens joined with the leading zeros of each number dropped: "FA2026-000123" and "FA 2026/123" agree."""
    return "".join((token.lstrip("0") or "0") if token.isdigit() else token for token in tokens)


@dataclass(frozen=True)
class Found:
    """An invoice number found in a text: the invoice's key, the text as written, and how (folded or digits only)."""

    key: str
    written: str
    how: str  # "exact" (folded), "digits", "sibling"


class ReferenceIndex:
    """The open invoices' references (numbers, ERP references) folded, and by their digits when those are unique."""

    def __init__(self, references: Iterable[tuple[str, str]]) -> None:
        self.folded: dict[str, str] = {}
        by_digits: dict[str, set[str]] = {}
        self.written: dict[str, str] = {}
        for key, reference in references:
            if not reference:
                continue
            self.folded.setdefault(fold(reference), key)
            self.written.setdefault(key, reference)
            if len(digits(reference)) >= MIN_DIGITS:
                by_digits.setdefault(digits(reference), set()).add(key)
        self.digits = {d: next(iter(keys)) for d, keys in by_digits.items() if len(keys) == 1}
        by_loose: dict[str, set[str]] = {}
        by_serial: dict[str, set[str]] = {}
        for key, reference in self.written.items():
            tokens = _TOKEN.findall(reference.upper())
            by_loose.setdefault(loose(tokens), set()).add(key)
            if tokens and tokens[-1].isdigit():
                by_serial.setdefault(tokens[-1].lstrip("0") or "0", set()).add(key)
        self.loose = {text: next(iter(keys)) for text, keys in by_loose.items() if len(keys) == 1}
        self.serials = {serial: next(iter(keys)) for serial, keys in by_serial.items() if len(keys) == 1}

    def exact(self, reference: str | None) -> str | None:
        return self.folded.get(fold(reference)) if reference else None

    def find(self, text: str | None) -> list[Found]:
        """Every invoice named in `text`, in the order written, each once."""
        if not text:
            return []
        upper = text.upper()
        tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(upper)]
        found: list[Found] = []
        seen: set[str] = set()
        i = 0
        while i < len(tokens):
            hit = self._longest(upper, tokens, i)
            if hit is None:
                i += 1
                continue
            key, how, j = hit
            if key not in seen:
                seen.add(key)
                found.append(Found(key, upper[tokens[i][1] : tokens[j][2]], how))
            i = self._siblings(upper, tokens, j, key, found, seen)
        return found

    def _longest(self, upper: str, tokens: list[tuple[str, int, int]], i: int) -> tuple[str, str, int] | None:
        best = None
        joined = ""
        for j in range(i, min(len(tokens), i + MAX_TOKENS)):
            if j > i and not _JOIN.match(upper[tokens[j - 1][2] : tokens[j][1]]):
                break
            joined += tokens[j][0]
            ends = j + 1 >= len(tokens) or not tokens[j + 1][0].isdigit() or not _JOIN.match(upper[tokens[j][2] : tokens[j + 1][1]])
            written = loose([t for t, _, _ in tokens[i : j + 1]])
            if joined in self.folded:
                best = (self.folded[joined], "exact", j)
            elif written in self.loose and ends and (best is None or best[1] != "exact"):
                best = (self.loose[written], "loose", j)
            elif best is None and joined.isdigit() and joined in self.digits and ends:
                best = (self.digits[joined], "digits", j)
            elif best is None and i == j and joined.isdigit() and ends and (serial := joined.lstrip("0") or "0") in self.serials:
                best = (self.serials[serial], "serial", j)
        return best

    def _siblings(self, upper: str, tokens: list[tuple[str, int, int]], j: int, key: str, found: list[Found], seen: set[str]) -> int:
        """Bare numbers after invoice `key` that replace its last digit group; the index of the token to go on from."""
        written = self.written[key]
        last = re.search(r"(\d+)\D*$", written)
        if not last:
            return j + 1
        stem, width = written[: last.start(1)], len(last.group(1))
        k = j + 1
        while k < len(tokens):
            between = upper[tokens[k - 1][2] : tokens[k][1]]
            token = tokens[k][0]
            if token in _CONNECTOR_WORDS and _CONNECTOR.match(between):
                k += 1
                continue
            if not token.isdigit() or len(token) > width or not _CONNECTOR.match(between):
                break
            sibling = self.folded.get(fold(stem + token.zfill(width)))
            if sibling is None:
                break
            if sibling not in seen:
                seen.add(sibling)
                found.append(Found(sibling, token, "sibling"))
            k += 1
        return k


_PREFIXED = re.compile(r"^(.*?[^\d])0*(\d+)$")  # a word: what comes before its last digits, and those digits
_WORD_EDGES = ".,;:()[]'\""
MIN_PREFIX = 2  # letters or digits in a learned prefix: "F26/" yes, "/" or "N°" no


def serial(number: str) -> str | None:
    """An invoice number's last number, without its leading zeros: what payers keep of it ("45" of FA2026-000045)."""
    found = re.search(r"(\d+)\D*$", number)
    return (found.group(1).lstrip("0") or "0") if found else None


def prefixed_numbers(text: str | None) -> list[tuple[str, str, str]]:
    """The words of `text` that end with a number: (the word, what comes before the number, the number without zeros)."""
    words = []
    for word in (text or "").upper().split():
        word = word.strip(_WORD_EDGES)
        found = _PREFIXED.match(word)
        if found and len(fold(found.group(1))) >= MIN_PREFIX:
            words.append((word, found.group(1), found.group(2)))
    return words


def prefix_for(text: str | None, number: str) -> str | None:
    """How a payer wrote invoice `number` in `text`: the letters and signs before its last number in one word
    ("F26/" in "Fact F26/45" for FA2026-000045), which a person's decision teaches the engine; None if not written so."""
    wanted = serial(number)
    return next((prefix for _, prefix, digits in prefixed_numbers(text) if digits == wanted), None)
