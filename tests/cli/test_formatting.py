"""CLI number formatting: money shows its currency when the CLI knows it."""

from headway.cli.formatting import format_value
from headway.engine.spec import Unit


def test_money_with_and_without_a_currency():
    assert format_value(1234.5, Unit.CURRENCY, 2, "EUR") == "€1,234.50"
    assert format_value(-1234.6, Unit.CURRENCY, 0, "usd") == "-$1,235"
    assert format_value(12.0, Unit.CURRENCY, 2, "NOK") == "NOK 12.00"
    assert format_value(1234.5, Unit.CURRENCY, 2) == "1,234.50"  # unknown currency: the header names the unit
    assert format_value(0.1234, Unit.PERCENT, 1, "EUR") == "12.3%"  # only money takes the sign
    assert format_value(None, Unit.CURRENCY, 2, "EUR") == "–"


def test_a_column_header_names_a_scores_scale():
    from headway.cli.formatting import kpi_header
    from headway.engine.catalog import load_catalog

    catalog = load_catalog()
    assert kpi_header(catalog.get("csat")) == "Customer satisfaction (CSAT)\n(score, 1 to 5)"
    assert kpi_header(catalog.get("nps")).endswith("(score, -100 to 100)")
    assert kpi_header(catalog.get("aov")).endswith(f"({catalog.get('aov').unit.label})"), "no scale, no suffix"
