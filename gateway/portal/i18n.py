"""The portal's two languages: gettext catalogues (Flask-Babel) for its messages, and locale formatting.

French is the default.  Messages are written in English in the code and templates (`_("Invoices")`,
`ngettext(...)`, `gateway.texts.N_` where a message is defined but shown elsewhere) with `{name}` placeholders,
filled after translation.  pybabel collects them into two catalogues beside this file
(translations/<lang>/LC_MESSAGES/): `messages`, the portal's own words (mapping messages.cfg), and `core`,
the messages the rest of the gateway writes and the portal shows (mapping core.cfg, marked with
`gateway.texts.N_`): routing decisions, delivery errors, the gateway's own findings.  Both exist in French
and English, compiled to .mo (committed; a test fails when a message lacks a translation or a .mo lags
its .po: translations/README.md says how to update them).  Numbers, amounts and dates follow each
locale's conventions (French: "1 234,56 €", "20/11/2026"; English: "€1,234.56", "20 Nov 2026"); times
are shown in the portal's time zone (Europe/Paris unless configured).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import flask_babel
from babel.messages.mofile import read_mo
from flask import Flask, g

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
TRANSLATIONS = Path(__file__).with_name("translations")
CORE = flask_babel.Domain(str(TRANSLATIONS), domain="core")

_NNBSP, _NBSP = "\u202f", "\u00a0"  # French thousands separator; space before a currency or percent sign
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
_MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"),
}
_SHORT_MONTHS = {
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def install(app: Flask) -> None:
    """Flask-Babel on `app`, reading the portal's catalogues in the language of the request (`g.lang`, French by default)."""
    flask_babel.Babel(
        app,
        locale_selector=lambda: g.get("lang", DEFAULT_LANGUAGE),
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories=str(TRANSLATIONS),
        configure_jinja=False,  # the portal's templates get `_` and `ngettext` filling {name} placeholders (views)
    )


def gettext(message: str, /, **values: object) -> str:
    """`message` in the request's language, with `{name}` placeholders filled."""
    text = flask_babel.gettext(message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """`singular` or `plural` by `n` under the language's plural rule (French: 0 and 1 singular), translated and filled."""
    text = flask_babel.ngettext(singular, plural, n)
    return text.format(**values) if values else text


@cache
def _core_templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Every template of the core catalogue with placeholders, as a pattern capturing their values; most literal text first."""
    with (TRANSLATIONS / "en" / "LC_MESSAGES" / "core.mo").open("rb") as file:
        ids = [message.id for message in read_mo(file) if isinstance(message.id, str) and "{" in message.id]
    found = []
    for template in ids:
        literal = _PLACEHOLDER.sub("", template)
        if not literal.strip():
            continue  # a template of placeholders alone would match anything
        pattern, seen, position = [], set(), 0
        for match in _PLACEHOLDER.finditer(template):
            name = match.group(1)
            pattern.append(re.escape(template[position : match.start()]))
            pattern.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
            position = match.end()
        pattern.append(re.escape(template[position:]))
        found.append((len(literal), re.compile("".join(pattern), re.DOTALL), template))
    return tuple((pattern, template) for _, pattern, template in sorted(found, key=lambda item: -item[0]))


def core_text(text: str | None) -> str:
    """A message the core wrote in English, in the request's language: a marked template filled in is recognised and
    its translation filled with the same values (themselves recognised in turn); any other text is shown as written."""
    if not text:
        return text or ""
    translated = CORE.gettext(text)
    if translated != text:
        return translated
    for pattern, template in _core_templates():
        match = pattern.fullmatch(text)
        if match:
            return CORE.gettext(template).format(**{name: core_text(value) for name, value in match.groupdict().items()})
    return text


def _grouped(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    return separator.join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


def format_decimal(value: Decimal | int, lang: str, places: int | None = None) -> str:
    """`value` with the locale's separators; `places` fixes the decimals, else all of the value's are kept."""
    number = Decimal(value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
    sign, text = ("-", f"{-number:f}") if number < 0 else ("", f"{number:f}")
    whole, _, fraction = text.partition(".")
    thousands, point = (_NNBSP, ",") if lang == "fr" else (",", ".")
    return sign + _grouped(whole, thousands) + (point + fraction if fraction else "")


def format_amount(value: Decimal | None, currency: str, lang: str) -> str:
    """An amount with at least two decimals and its currency: "1 234,56 €" / "€1,234.56"; "—" when absent."""
    if value is None:
        return "—"
    places = 2 if -value.as_tuple().exponent <= 2 else None  # type: ignore[operator]
    digits = format_decimal(abs(value), lang, places)
    sign = "-" if value < 0 else ""
    symbol = _SYMBOLS.get(currency)
    if lang == "fr":
        return f"{sign}{digits}{_NBSP}{symbol or currency}"
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{currency}{_NBSP}{digits}"


def format_percent(ratio: float | Decimal, lang: str, places: int = 1) -> str:
    """A ratio (0.125) as a percentage: "12,5 %" / "12.5%"."""
    text = format_decimal(Decimal(str(round(float(ratio) * 100, places))), lang, places)
    return f"{text}{_NBSP}%" if lang == "fr" else f"{text}%"


def format_date(day: date | None, lang: str, long: bool = False) -> str:
    """French "20/11/2026" or "20 novembre 2026", English "20 Nov 2026" or "20 November 2026"."""
    if day is None:
        return "—"
    if long:
        return f"{day.day} {_MONTHS[lang][day.month - 1]} {day.year}"
    if lang == "fr":
        return day.strftime("%d/%m/%Y")
    return f"{day.day} {_SHORT_MONTHS[lang][day.month - 1]} {day.year}"


def format_day_month(day: date, lang: str) -> str:
    """Day and month for chart axes: "20/11" / "20 Nov"."""
    return day.strftime("%d/%m") if lang == "fr" else f"{day.day} {_SHORT_MONTHS[lang][day.month - 1]}"


def format_month(day: date, lang: str) -> str:
    """Month and year: "nov. 2026" / "Nov 2026"."""
    return f"{_SHORT_MONTHS[lang][day.month - 1]} {day.year}"


def format_datetime(moment: datetime | None, lang: str, zone: ZoneInfo, seconds: bool = False) -> str:
    """A time in the portal's zone: "20/11/2026 14:03" / "20 Nov 2026, 14:03"."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{format_date(local.date(), lang)} {clock}" if lang == "fr" else f"{format_date(local.date(), lang)}, {clock}"


def format_size(size: int, lang: str) -> str:
    """A byte count the way each locale writes it: "41,7 Ko" / "41.7 kB"."""
    units = ("o", "Ko", "Mo", "Go") if lang == "fr" else ("B", "kB", "MB", "GB")
    value, unit = Decimal(size), 0
    while value >= 1000 and unit < len(units) - 1:
        value, unit = value / 1000, unit + 1
    return f"{format_decimal(value, lang, 0 if unit == 0 else 1)}{_NBSP}{units[unit]}"
