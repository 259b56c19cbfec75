"""Numbers, money and periods as a reader in the organisation's locale expects them.

A small table of the conventions of the languages we support (decimal and thousands
separators, where the currency symbol goes) instead of a dependency: the web pages
need nothing more. Unknown locales fall back to the language, then to English.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from headway.engine.periods import shift
from headway.engine.scoring import UNIT_SUFFIX, Delta, decimals_for, is_missing
from headway.engine.spec import Grain, Kpi, Unit

NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space: French thousands separator and space before %


@dataclass(frozen=True)
class NumberLocale:
    decimal: str
    group: str
    currency: str
    """Pattern for money: ``{s}`` the symbol, ``{n}`` the number (without sign)."""
    percent: str = "{n}%"
    min_grouping: int = 1
    """Spanish groups thousands only from five digits on (1234 but 12.345)."""


LOCALES: dict[str, NumberLocale] = {
    "en": NumberLocale(".", ",", "{s}{n}"),
    "de": NumberLocale(",", ".", "{n}" + NBSP + "{s}", "{n}" + NBSP + "%"),
    "de-ch": NumberLocale(".", "’", "{s}" + NBSP + "{n}"),
    "fr": NumberLocale(",", NNBSP, "{n}" + NBSP + "{s}", "{n}" + NNBSP + "%"),
    "es": NumberLocale(",", ".", "{n}" + NBSP + "{s}", "{n}" + NBSP + "%", min_grouping=2),
    "it": NumberLocale(",", ".", "{n}" + NBSP + "{s}"),
    "nl": NumberLocale(",", ".", "{s}" + NBSP + "{n}"),
}

CURRENCY_SYMBOLS = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "CHF": "CHF",
    "SEK": "kr",
    "NOK": "kr",
    "DKK": "kr.",
    "PLN": "zł",
    "CAD": "CA$",
    "AUD": "A$",
    "BRL": "R$",
    "MXN": "MX$",
}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def number_locale(code: str | None) -> NumberLocale:
    """The conventions for ``de``, ``de-DE``, ``de_CH``…: the full code, else its language, else English."""
    key = (code or "en").strip().lower().replace("_", "-")
    return LOCALES.get(key) or LOCALES.get(key.split("-")[0]) or LOCALES["en"]


def currency_symbol(currency: str | None) -> str:
    code = (currency or "").upper()
    return CURRENCY_SYMBOLS.get(code, code)


def rounded_half_up(value: float, decimals: int) -> Decimal:
    """Rounded as people do (2.5 -> 3, 1.005 -> 1.01 as written), never "-0"."""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return rounded if rounded != 0 else Decimal(0).quantize(rounded)


def format_number(value: float, decimals: int, locale: str | None = "en") -> str:
    """``1234.5`` → ``1,234.50`` (en) · ``1.234,50`` (de) · ``1 234,50`` (fr); the sign is kept."""
    loc = number_locale(locale)
    if not math.isfinite(value):
        return "∞" if value > 0 else "−∞" if value < 0 else "–"
    rounded = rounded_half_up(value, decimals)
    text = f"{abs(rounded):,.{decimals}f}"
    whole, _, frac = text.partition(".")
    if len(whole.replace(",", "")) < 4 + loc.min_grouping - 1:
        whole = whole.replace(",", "")
    out = whole.replace(",", loc.group) + (loc.decimal + frac if frac else "")
    return ("-" if rounded < 0 else "") + out


def format_money(value: float, decimals: int, locale: str | None, currency: str | None) -> str:
    loc = number_locale(locale)
    body = loc.currency.format(s=currency_symbol(currency), n=format_number(abs(value), decimals, locale))
    return ("-" if rounded_half_up(value, decimals) < 0 else "") + body


def format_percent(fraction: float, decimals: int, locale: str | None) -> str:
    """A fraction as a percentage: ``0.123`` → ``12.3%`` (en), ``12,3 %`` (de)."""
    loc = number_locale(locale)
    number = format_number(fraction * 100, decimals, locale)
    return loc.percent.format(n=number)


def format_unit_value(
    value: float | None, unit: Unit, decimals: int, locale: str | None = "en", currency: str | None = "EUR"
) -> str:
    """A value of ``unit``: money with the currency symbol, percent from a fraction, else number + unit suffix."""
    if value is None or is_missing(value):
        return "–"
    if unit is Unit.CURRENCY:
        return format_money(value, decimals, locale, currency)
    if unit is Unit.PERCENT:
        return format_percent(value, decimals, locale)
    return format_number(value, decimals, locale) + UNIT_SUFFIX.get(unit, "").replace(" ", NBSP)


def format_kpi_value(kpi: Kpi, value: float | None, locale: str | None = "en", currency: str | None = "EUR") -> str:
    """The value as people read it; a score on a scale from 0 or 1 carries its top (``4.31 / 5``)."""
    shown = format_unit_value(value, kpi.unit, decimals_for(kpi), locale, currency)
    top = scale_top(kpi)
    if top is not None and value is not None and not is_missing(value):
        shown += f"{NBSP}/{NBSP}{top}"
    return shown


def scale_top(kpi: Kpi) -> str | None:
    """``"5"`` for a score on 1–5; None without a scale or for one that goes below 0 (NPS reads as a plain number)."""
    if kpi.scale is None or kpi.scale[0] < 0:
        return None
    return f"{kpi.scale[1]:g}"


def scale_text(kpi: Kpi, locale: str | None = "en") -> str:
    """``"1 to 5"`` (empty without a scale)."""
    if kpi.scale is None:
        return ""
    low, high = (format_number(v, 0 if v == int(v) else 1, locale) for v in kpi.scale)
    return f"{low} to {high}"


def format_kpi_difference(
    kpi: Kpi, value: float | None, locale: str | None = "en", currency: str | None = "EUR"
) -> str:
    """A difference between two values of ``kpi``: percentage points for a percent KPI (0.03 → ``3.0 pp``;
    "3.0%" would read as a relative change), else the value's own format."""
    if kpi.unit is Unit.PERCENT and value is not None and not is_missing(value):
        return format_number(value * 100, decimals_for(kpi), locale) + NBSP + "pp"
    return format_unit_value(value, kpi.unit, decimals_for(kpi), locale, currency)  # "0.11 points", not "0.11 / 5"


def format_delta(d: Delta | None, locale: str | None = "en") -> str:
    """``+2.5 pp`` for a percent KPI, else growth as ``+10.0%``; '–' when there is nothing to compare."""
    if d is None:
        return "–"
    amount = d.amount if d.points else d.amount * 100
    number = format_number(amount, 1, locale)
    signed = number if number.startswith("-") else "+" + number
    signed = signed.replace("-", "−")  # a real minus sign reads better next to a plus
    if d.points:
        return signed + NBSP + "pp"
    return number_locale(locale).percent.format(n=signed)


def period_label(period: date, grain: Grain | str, fiscal_year_start: int = 1) -> str:
    """``December 2024`` · ``Week of 23 Dec 2024`` · ``Q4 2024`` (or ``Nov 2024 – Jan 2025`` in a fiscal year)."""
    grain = Grain(grain)
    if grain is Grain.MONTH:
        return f"{MONTHS[period.month - 1]} {period.year}"
    if grain is Grain.WEEK:
        return f"Week of {period.day} {MONTHS[period.month - 1][:3]} {period.year}"
    if grain is Grain.QUARTER:
        if fiscal_year_start == 1:
            return f"Q{(period.month - 1) // 3 + 1} {period.year}"
        last = shift(period, 2, Grain.MONTH)
        first = f"{MONTHS[period.month - 1][:3]}" + ("" if last.year == period.year else f" {period.year}")
        return f"{first} – {MONTHS[last.month - 1][:3]} {last.year}"
    if grain is Grain.YEAR:
        return str(period.year)
    return f"{period.day} {MONTHS[period.month - 1][:3]} {period.year}"


def short_period_label(period: date, grain: Grain | str) -> str:
    """Compact label for tables and chart tooltips: ``Dec 2024``, ``23 Dec 2024``, ``Q4 2024`` (calendar)."""
    grain = Grain(grain)
    if grain is Grain.MONTH:
        return f"{MONTHS[period.month - 1][:3]} {period.year}"
    return period_label(period, grain)


def d3_format_locale(locale: str | None, currency: str | None) -> dict[str, object]:
    """The same conventions as a d3-format locale, so Vega charts' axes read like the page."""
    loc = number_locale(locale)
    symbol = currency_symbol(currency)
    prefix, _, suffix = loc.currency.partition("{n}")
    return {
        "decimal": loc.decimal,
        "thousands": loc.group,
        "grouping": [3],
        "currency": [prefix.format(s=symbol), suffix.format(s=symbol)],
        "percent": loc.percent.replace("{n}", ""),
        "minus": "−",
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab / CR)
    gets a leading apostrophe, unless it is a plain number such as -12.5."""
    if not text.startswith(_FORMULA_START):
        return text
    try:
        float(text.replace(",", ""))
    except ValueError:
        return "'" + text
    return text
