"""Target expressions: what parses, what it evaluates to, and where an error points."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headway.analytics.target_expr import (
    TargetExprError,
    TargetUnavailable,
    lookup_from_series,
    parse_target,
)
from headway.engine.spec import Grain

VALUES = {
    ("revenue", "current"): 1000.0,
    ("revenue", "previous"): 800.0,
    ("revenue", "last_year"): 900.0,
    ("aov", "last_year"): 42.0,
    ("gross_margin_pct", "last_year"): 0.31,
    ("gross_margin_pct", "baseline"): 0.3,
}


def lookup(kpi_id: str, reference: str) -> float | None:
    return VALUES.get((kpi_id, reference))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("gross_margin_pct@last_year", 0.31),
        ("revenue@previous * 1.1", 880.0),
        ("max(aov@last_year, 50)", 50.0),
        ("min(aov@last_year, 50)", 42.0),
        ("revenue", 1000.0),  # a bare id is @current
        ("2 + 3 * 4", 14.0),  # * before +
        ("(2 + 3) * 4", 20.0),
        ("10 - 4 - 3", 3.0),  # left to right
        ("100 / 10 / 2", 5.0),
        ("-revenue@previous + 1000", 200.0),
        ("- -5", 5.0),
        ("abs(revenue@previous - revenue)", 200.0),
        ("round(revenue / 3, 1)", 333.3),
        ("round(2.5)", 2.0),  # Python's rounding of halves to even, documented
        ("1.5e3 + .5", 1500.5),
        ("  revenue@last_year*1.05  ", 945.0),
        ("max(revenue@previous, revenue@last_year, 850) * (1 + gross_margin_pct@baseline)", 1170.0),
    ],
)
def test_evaluates(text: str, value: float) -> None:
    assert parse_target(text).evaluate(lookup) == pytest.approx(value)


def test_kpi_ids_and_references() -> None:
    expr = parse_target("max(revenue@previous, revenue@last_year) * 1.1 - aov@last_year + 0 * orders")
    assert expr.kpi_ids == {"revenue", "aov", "orders"}
    assert expr.references == {
        ("revenue", "previous"),
        ("revenue", "last_year"),
        ("aov", "last_year"),
        ("orders", "current"),
    }
    assert parse_target("12.5").kpi_ids == set()


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("revenue@yesterday", 9, "after '@' use one of current, previous, last_year, baseline, not 'yesterday'"),
        ("revenue@", 9, "after '@' use one of current, previous, last_year, baseline, not nothing"),
        ("__import__(1)", 1, "unknown function '__import__'; use one of min, max, abs, round"),
        ("__import__('os')", 12, 'unexpected character "\'"'),
        ("open(1)", 1, "unknown function 'open'; use one of min, max, abs, round"),
        ("revenue.__class__", 8, "unexpected character '.'"),
        ("revenue ** 2", 10, "unexpected '*'"),
        ("1 +", 4, "expression ends too early"),  # the caret goes just past the end
        ("(1 + 2", 7, "expected ')' but found the end"),
        ("min(1)", 1, "min() takes 2 or more arguments, got 1"),
        ("abs(1, 2)", 1, "abs() takes 1 arguments, got 2"),
        ("round(1, 2, 3)", 1, "round() takes 1 to 2 arguments, got 3"),
        ("Revenue * 2", 1, "'Revenue' is not a KPI id (lower-case letters, digits and _)"),
        ("1 2", 3, "unexpected '2'"),
        ("", 1, "empty expression"),
        ("revenue; drop table x", 8, "unexpected character ';'"),
        ("lambda: 1", 7, "unexpected character ':'"),
        ("revenue if 1 else 2", 9, "unexpected 'if'"),
        ("revenue[0]", 8, "unexpected character '['"),
        ("'text'", 1, 'unexpected character "\'"'),
    ],
)
def test_errors_say_what_and_where(text: str, column: int, reason: str) -> None:
    with pytest.raises(TargetExprError) as info:
        parse_target(text)
    assert info.value.reason == reason
    assert info.value.position + 1 == column
    # the message shows the text with a caret under the culprit
    lines = str(info.value).splitlines()
    assert lines[0] == f"{reason} at column {column}:"
    assert lines[2].index("^") - 2 == column - 1


def test_too_long_and_too_deep() -> None:
    with pytest.raises(TargetExprError, match="longer than 500"):
        parse_target("1 + " * 200 + "1")
    with pytest.raises(TargetExprError, match="nested deeper"):
        parse_target("(" * 60 + "1" + ")" * 60)
    with pytest.raises(TargetExprError, match="nested deeper"):
        parse_target("-" * 60 + "1")


def test_unknown_values_and_division_by_zero() -> None:
    with pytest.raises(TargetUnavailable) as info:
        parse_target("revenue@last_year + orders@last_year").evaluate(lookup)
    assert (info.value.kpi_id, info.value.reference) == ("orders", "last_year")
    assert "no value for orders@last_year" in str(info.value)
    with pytest.raises(TargetUnavailable):
        parse_target("revenue").evaluate(lambda k, r: float("nan"))
    with pytest.raises(TargetExprError) as zero:
        parse_target("revenue / (aov@last_year - 42)").evaluate(lookup)
    assert zero.value.reason == "division by zero" and zero.value.position == 8


def test_lookup_from_series() -> None:
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    revenue = pd.Series(range(100, 124), index=months, dtype=float)  # Timestamp index works too
    aov = pd.Series([40.0, None], index=[date(2024, 12, 1), date(2025, 12, 1)])
    lookup = lookup_from_series(
        {"revenue": revenue, "aov": aov}, date(2025, 12, 1), Grain.MONTH, baseline_period=date(2024, 12, 1)
    )
    assert lookup("revenue", "current") == 123  # Dec 2025
    assert lookup("revenue", "previous") == 122  # Nov 2025
    assert lookup("revenue", "last_year") == 111  # Dec 2024
    assert lookup("revenue", "baseline") == 111
    assert lookup("aov", "last_year") == 40
    assert lookup("aov", "current") is None  # unknown value
    assert lookup("orders", "current") is None  # unknown KPI
    no_baseline = lookup_from_series({"revenue": revenue}, date(2025, 12, 1), Grain.MONTH)
    assert no_baseline("revenue", "baseline") is None
    quarterly = lookup_from_series({"revenue": revenue}, date(2025, 10, 1), Grain.QUARTER)
    assert quarterly("revenue", "previous") == revenue[pd.Timestamp("2025-07-01")]
    assert quarterly("revenue", "last_year") == revenue[pd.Timestamp("2024-10-01")]


# --- properties ----------------------------------------------------------------------


def _trees(depth: int) -> st.SearchStrategy[tuple[str, float]]:
    """Random expressions as (text, value computed here), over numbers and the KPI values above."""
    leaves = st.one_of(
        st.integers(0, 1000).map(lambda n: (str(n), float(n))),
        st.sampled_from(sorted(VALUES)).map(lambda kr: (f"{kr[0]}@{kr[1]}", VALUES[kr])),
    )
    if depth == 0:
        return leaves
    sub = _trees(depth - 1)
    ops = st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(
        lambda t: (
            f"({t[0][0]} {t[1]} {t[2][0]})",
            t[0][1] + t[2][1] if t[1] == "+" else t[0][1] - t[2][1] if t[1] == "-" else t[0][1] * t[2][1],
        )
    )
    calls = st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(
        lambda t: (f"{t[0]}({t[1][0]}, {t[2][0]})", (min if t[0] == "min" else max)(t[1][1], t[2][1]))
    )
    return st.one_of(leaves, ops, calls, sub.map(lambda t: (f"-{t[0]}", -t[1])))


@settings(max_examples=150, deadline=None)
@given(_trees(3))
def test_random_expressions_evaluate_like_their_tree(case: tuple[str, float]) -> None:
    text, value = case
    assert parse_target(text).evaluate(lookup) == pytest.approx(value, rel=1e-9, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcr_@.()[]*/+-,0123456789 '\";:=<>!", max_size=40))
def test_any_text_parses_or_fails_with_a_target_error(text: str) -> None:
    try:
        parse_target(text)
    except TargetExprError as exc:
        assert 0 <= exc.position <= len(text)
