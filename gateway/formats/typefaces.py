"""The fonts of the readable page: DejaVu Sans, then a fallback chain for what it lacks, and what no font can show.

A PDF shows a character only through a font that has a glyph for it; fpdf2 draws a missing one as an
empty box, which a reader and the text layer both lose (a Japanese legal name came out truncated, emoji
vanished).  DejaVu Sans covers Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic; the chain
adds Noto Sans Arabic, Hebrew, Devanagari and Thai for the letters it lacks, Droid Sans Fallback
for Chinese and Japanese (Korean Hangul is not in it), Noto Sans Symbols and Noto Emoji.  Every file
ships in `fonts/` (licences and sources in fonts/README.md), so a fresh install renders the same page.

A character that no font of the chain has is named by `undrawable` (the intake answers 422 for the field
that holds it) and refused by the renderer (`UndrawableText`), never dropped.  Text in scripts that join
or reorder (Arabic, Hebrew, Indic, Thai …) needs shaping (HarfBuzz, through fpdf2's `uharfbuzz` support).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import TTFFont

from gateway.errors import InputError

FONT_DIR = Path(__file__).resolve().parent / "fonts"


@dataclass(frozen=True)
class Face:
    """A font family as the renderer registers it: its fpdf2 family name and one file per style ("" regular, "B" bold)."""

    family: str
    files: tuple[tuple[str, str], ...]


PRIMARY = Face("DejaVu", (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")))
FALLBACKS = (
    Face("DejaVu", PRIMARY.files),  # first: bold text falls back to DejaVu Sans for the few glyphs its bold face lacks
    Face("NotoSansArabic", (("", "NotoSansArabic-Regular.ttf"),)),
    Face("NotoSansHebrew", (("", "NotoSansHebrew-Regular.ttf"),)),
    Face("NotoSansDevanagari", (("", "NotoSansDevanagari-Regular.ttf"),)),
    Face("NotoSansThai", (("", "NotoSansThai-Regular.ttf"),)),
    Face("DroidSansFallback", (("", "DroidSansFallbackFull.ttf"),)),
    Face("NotoSansSymbols", (("", "NotoSansSymbols-Regular.ttf"),)),
    Face("NotoEmoji", (("", "NotoEmoji-Regular.ttf"),)),
)

# Scripts whose letters join, reorder or stack: drawn through HarfBuzz (Indic, Sinhala, Thai, Lao, Tibetan, Myanmar; Khmer).
SHAPED_RANGES = ((0x0900, 0x109F), (0x1780, 0x17FF))


class UndrawableText(InputError):
    """Text with characters no font of the readable page has: refused rather than silently dropped from the PDF."""

    status = 422
    code = "undrawable_text"


@cache
def parsed_font(file: str) -> TTFFont:
    """The font file parsed once per process (cmap, widths, glyph ids, descriptor), for the renderer to copy per document."""
    font = TTFFont(FPDF(), FONT_DIR / file, "template", "")
    font.ttfont = None  # each document opens its own: output subsets it in place
    return font


def _has(file: str, char: str) -> bool:
    return ord(char) in parsed_font(file).cmap


def ignorable(char: str) -> bool:
    """Characters that draw nothing by themselves: control characters (the intake refuses them: XML cannot carry them),
    format controls (ZWJ, soft hyphen, bidi marks) and variation selectors."""
    category = unicodedata.category(char)
    return category in ("Cc", "Cf") or (category == "Mn" and (0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF))


@cache
def needs_shaping(char: str) -> bool:
    """Whether text holding `char` must go through HarfBuzz: right-to-left letters, combining marks, the scripts above."""
    code = ord(char)
    return (
        unicodedata.bidirectional(char) in ("R", "AL", "AN")
        or unicodedata.category(char) == "Mn"
        or any(low <= code <= high for low, high in SHAPED_RANGES)
    )


@cache
def plain_chars(style: str) -> frozenset[str]:
    """The characters the primary face of `style` draws as they are (no shaping): the fast path, nearly every character."""
    file = dict(PRIMARY.files)[style]
    return frozenset(char for char in map(chr, parsed_font(file).cmap) if not needs_shaping(char))


@cache
def fallback_face(char: str) -> Face | None:
    """The first face of the chain that has `char`, or None."""
    return next((face for face in FALLBACKS if any(_has(file, char) for _, file in face.files)), None)


def undrawable(text: str) -> list[str]:
    """The characters of `text` that no font of the page has, each once, in order of appearance."""
    return [char for char in dict.fromkeys(text) if not ignorable(char) and fallback_face(char) is None]


def describe(chars: Iterable[str]) -> str:
    """'U+E000 (unnamed), U+1F9FF NAZAR AMULET' for a message a person can act on."""
    return ", ".join(f"U+{ord(char):04X} {unicodedata.name(char, '(unnamed)')}" for char in chars)


def check_drawable(text: str) -> None:
    """Raise `UndrawableText` when a character of `text` cannot be shown."""
    missing = undrawable(text)
    if missing:
        raise UndrawableText(f"The readable page (PDF) has no font for these characters: {describe(missing)}.")
