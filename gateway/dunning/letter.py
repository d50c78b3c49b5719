"""The reminder as a letter (PDF, A4): the seller's and the buyer's addresses, place and date, subject and text.

For the formal notice it is the document sent by registered post (lettre recommandée avec accusé de réception) and
attached to the e-mail; it is archived like every document the gateway produces.  Drawn with fpdf2 and the DejaVu
fonts the readable invoice page embeds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fpdf import FPDF

from gateway.dunning.templates import day
from gateway.formats.typefaces import FONT_DIR
from gateway.model.invoice import Party

REGISTERED = {"fr": "Lettre recommandée avec accusé de réception", "en": "By registered post with acknowledgement of receipt"}
SUBJECT = {"fr": "Objet : ", "en": "Subject: "}


def _address(party: Party) -> list[str]:
    a = party.address
    town = " ".join(p for p in (a.postal_code, a.city) if p)
    lines = [party.name, a.line1, a.line2, a.line3, town, a.country_code if a.country_code != "FR" else None]
    return [line for line in lines if line]


def letter(seller: Party, buyer: Party, when: date, subject: str, body: str, *, language: str, registered: bool) -> bytes:
    """The letter's PDF bytes (creation date fixed to `when`: the same reminder gives the same bytes)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(when.year, when.month, when.day, tzinfo=UTC))
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_title(subject)
    pdf.set_author(seller.name)
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(90, 5.5, "\n".join(_address(seller)))
    pdf.set_font("DejaVu", "", 11)
    pdf.set_xy(115, 50)
    pdf.multi_cell(75, 5.5, "\n".join(_address(buyer)))
    pdf.set_xy(115, pdf.get_y() + 8)
    place = seller.address.city or ""
    pdf.multi_cell(75, 5.5, f"{place}, {day(when, language)}" if place else day(when, language))
    pdf.set_y(max(pdf.get_y() + 10, 100))
    if registered:
        pdf.set_font("DejaVu", "B", 10)
        pdf.multi_cell(0, 5.5, REGISTERED[language])
        pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(0, 6, SUBJECT[language] + subject)
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 10.5)
    pdf.multi_cell(0, 5.5, body)
    return bytes(pdf.output())
