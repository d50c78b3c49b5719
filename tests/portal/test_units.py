"""The portal's pure parts: locale formatting, business term names, Merkle paths, chart scale, periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from gateway.archive.merkle import inclusion_path, merkle_root
from gateway.archive.verifier import leaf_hash, node_hash, verify_inclusion
from gateway.config import Config, ConfigError
from gateway.portal import i18n
from gateway.portal.auth import PortalSettings
from gateway.portal.charts import bar_chart
from gateway.portal.proofs import audit_path, merkle_levels
from gateway.portal.queries import FIRST_DAY, LAST_DAY, parse_filter, parse_period
from gateway.portal.terms import term_name


@pytest.mark.parametrize(
    "value, currency, fr, en",
    [
        (Decimal("14947.54"), "EUR", "14\u202f947,54\u00a0€", "€14,947.54"),
        (Decimal("1234567.5"), "EUR", "1\u202f234\u202f567,50\u00a0€", "€1,234,567.50"),
        (Decimal("26.27"), "USD", "26,27\u00a0$", "$26.27"),
        (Decimal("-5"), "CHF", "-5,00\u00a0CHF", "-CHF\u00a05.00"),
        (Decimal("0.12345"), "EUR", "0,12345\u00a0€", "€0.12345"),
        (None, "EUR", "—", "—"),
    ],
)
def test_amounts_follow_the_locale(value, currency, fr, en):
    assert i18n.format_amount(value, currency, "fr") == fr
    assert i18n.format_amount(value, currency, "en") == en


def test_numbers_dates_and_times_follow_the_locale():
    assert i18n.format_decimal(1234567, "fr") == "1\u202f234\u202f567" and i18n.format_decimal(1234567, "en") == "1,234,567"
    assert i18n.format_percent(0.25, "fr") == "25,0\u00a0%" and i18n.format_percent(0.125, "en") == "12.5%"
    day = date(2026, 3, 5)
    assert (i18n.format_date(day, "fr"), i18n.format_date(day, "en")) == ("05/03/2026", "5 Mar 2026")
    assert (i18n.format_date(day, "fr", long=True), i18n.format_date(day, "en", long=True)) == ("5 mars 2026", "5 March 2026")
    moment = datetime(2026, 7, 1, 12, 30, 15, tzinfo=UTC)  # 14:30 in Paris (summer time)
    paris = ZoneInfo("Europe/Paris")
    assert i18n.format_datetime(moment, "fr", paris) == "01/07/2026 14:30"
    assert i18n.format_datetime(moment, "en", paris, seconds=True) == "1 Jul 2026, 14:30:15"
    assert (i18n.format_size(41694, "fr"), i18n.format_size(512, "en")) == ("41,7\u00a0Ko", "512\u00a0B")


def test_business_terms_in_plain_words():
    assert term_name("BT-112", "fr") == "Montant total TVA comprise" and term_name("BT-112", "en") == "Invoice total amount with VAT"
    assert (
        term_name("BT-49", "en") == "Buyer electronic address"
        and term_name("bt-49-1", "fr") == "Adresse électronique de l'acheteur (identifiant du schéma)"
    )
    assert term_name("BT-52", "en") == "Buyer city" and term_name("BT-165", "fr") == "Ligne 3 de l'adresse de livraison"
    assert term_name("BT-98", "en") == "Document level allowance reason code" and term_name("BT-141", "fr") == "Montant de la charge sur la ligne"
    assert term_name("BG-23", "fr") == "Ventilation de la TVA"
    assert term_name("BT-999", "en") is None and term_name(None, "fr") is None and term_name("XX-1", "fr") is None
    named = [f"BT-{n}" for n in range(1, 166) if term_name(f"BT-{n}", "en")]
    assert len(named) == 164  # every EN 16931 term but BT-4, which does not exist


@pytest.mark.parametrize("size", [*range(1, 40), 64, 65, 100, 127])
def test_batch_audit_paths_equal_rfc6962_paths(size):
    leaves = [leaf_hash(f"{i:064x}") for i in range(size)]
    levels = merkle_levels(leaves)
    assert levels[-1][0] == merkle_root(leaves)
    if size > 1:
        assert levels[1][0] == node_hash(leaves[0], leaves[1])
    for index in range(size):
        path = audit_path(levels, index)
        assert path == inclusion_path(leaves, index)
        assert verify_inclusion(leaves[index], index, size, path, levels[-1][0])


def test_chart_scale_has_round_ticks_and_stacks_rejected_on_accepted():
    chart = bar_chart([(date(2026, 1, d), d * 10, d) for d in range(1, 32)])
    assert [value for _, value in chart.ticks] == [0, 100, 200, 300, 400]
    last = chart.bars[-1]
    assert last.y_rejected + last.h_rejected == pytest.approx(last.y_accepted, abs=0.11)
    assert last.y_accepted + last.h_accepted == pytest.approx(chart.baseline, abs=0.11)
    assert sum(bar.labelled for bar in chart.bars) <= 12
    assert [value for _, value in bar_chart([]).ticks] == [0, 1]


def test_periods_and_filters_read_from_the_query_string():
    zone, today = ZoneInfo("Europe/Paris"), date(2026, 11, 23)
    assert parse_period({}, zone, today).start == date(2026, 10, 25)
    assert parse_period({"period": "7d"}, zone, today).days == 7
    custom = parse_period({"from": "2026-01-01", "to": "2026-03-31"}, zone, today)
    assert (custom.preset, custom.days) == (None, 90)
    assert parse_period({"from": "2026-05-01", "to": "2026-01-01"}, zone, today).preset == "30d"  # reversed: ignored
    low, high = custom.bounds()
    assert low == datetime(2025, 12, 31, 23, tzinfo=UTC) and high == datetime(2026, 3, 31, 22, tzinfo=UTC)
    flt = parse_filter({"min": "1 234,5", "max": "NaN", "page": "-3", "sort": "evil", "direction": "sideways", "order": "up"})
    assert (flt.amount_min, flt.amount_max, flt.page, flt.sort, flt.direction) == (Decimal("1234.5"), None, 1, "received", "")
    assert flt.invalid == ("direction", "max", "sort", "order", "page")
    assert parse_filter({"page": "1" * 5000, "q": "x\x00"}).invalid == ("q", "page")


def test_periods_out_of_range_or_unreadable_are_named_and_the_default_is_used():
    zone, today = ZoneInfo("Europe/Paris"), date.today()
    for args, invalid in [
        ({"from": "0001-01-01", "to": "0001-01-05"}, ("from", "to")),  # their bounds were an OverflowError (a 500)
        ({"from": "2026-01-01", "to": "9999-12-31"}, ("to",)),
        ({"from": "yesterday"}, ("from",)),
        ({"period": "forever"}, ("period",)),
        ({"from": "2030-02-01", "to": "2030-01-01"}, ("from", "to")),
    ]:
        period = parse_period(args, zone, today)
        assert (period.invalid, period.preset, period.end) == (invalid, "30d", today), args
    since = parse_period({"from": (today - timedelta(days=9)).isoformat()}, zone, today)
    assert (since.days, since.end, since.invalid) == (10, today, ())
    until = parse_period({"to": LAST_DAY.isoformat()}, zone, today)
    assert (until.days, until.invalid) == (30, ()) and until.bounds()[1] == datetime(2099, 12, 31, 23, tzinfo=UTC)
    assert parse_period({"from": FIRST_DAY.isoformat(), "to": LAST_DAY.isoformat()}, zone, today).days == 3 * 366 + 1  # at most 3 years


def test_portal_settings_are_checked_at_start_up(tmp_path):
    def settings(**section):
        return PortalSettings.from_config(Config(data_dir=tmp_path, config_dir=tmp_path, sections={"portal": section}))

    assert settings(session_idle_minutes=5, time_zone="America/Cayenne").session_idle_minutes == 5
    for bad in ({"session_hours": 0}, {"time_zone": "Mars/Olympus"}, {"secure_cookies": "yes"}, {"colour": "blue"}):
        with pytest.raises(ConfigError):
            settings(**bad)
