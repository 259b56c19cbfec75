"""The alert engine on scripted series: fires once, stays quiet while firing, resolves once,
cooldown, hysteresis, quiet hours in a non-UTC time zone, and every rule kind's condition."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from headway.analytics.alerts import (
    Event,
    Inputs,
    RuleKind,
    RuleSpec,
    clean_params,
    conditions,
    decide,
    deliver_after,
    series_key,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def frame(kpi: str, values: list[float | None], start: str = "2025-01-01", grain: str = "month") -> pd.DataFrame:
    periods = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"key": series_key(kpi, grain), "period": periods, "value": values})


def replay(rule: RuleSpec, values: list[float], step: timedelta = timedelta(hours=1)) -> list[tuple[int, Event]]:
    """Evaluate the rule after each new value, keeping its state as the app does; the events with their step."""
    events = []
    firing, last_fired = rule.firing, rule.last_fired_at
    for i in range(len(values)):
        now = T0 + i * step
        state = RuleSpec(**{**rule.__dict__, "firing": firing, "last_fired_at": last_fired})
        for t in decide([state], Inputs(series=frame(rule.kpi_id, values[: i + 1]), now=now)):
            events.append((i, t.event))
            firing = t.event is Event.FIRING
            if firing:
                last_fired = now
    return events


def test_threshold_fires_once_stays_quiet_resolves_once_with_hysteresis():
    rule = RuleSpec(1, RuleKind.THRESHOLD_ABOVE, "refund_rate", params={"threshold": 100, "hysteresis": 5})
    values = [90, 105, 110, 99, 96, 94, 97, 99]
    # 105 fires; 110 stays firing (no repeat); 99 and 96 are below the line but not 5 under it;
    # 94 resolves; 97/99 are above the clearing line but not above the threshold: nothing.
    assert replay(rule, values) == [(1, Event.FIRING), (5, Event.RESOLVED)]


def test_without_hysteresis_the_same_wobble_resolves_at_once():
    rule = RuleSpec(1, RuleKind.THRESHOLD_ABOVE, "refund_rate", params={"threshold": 100})
    assert replay(rule, [90, 105, 110, 99]) == [(1, Event.FIRING), (3, Event.RESOLVED)]


def test_threshold_below():
    rule = RuleSpec(1, RuleKind.THRESHOLD_BELOW, "revenue", params={"threshold": 50, "hysteresis": 2})
    assert replay(rule, [60, 49, 51, 53, 40]) == [(1, Event.FIRING), (3, Event.RESOLVED), (4, Event.FIRING)]


def test_cooldown_holds_back_a_refire_until_it_has_passed():
    rule = RuleSpec(1, RuleKind.THRESHOLD_ABOVE, "x", params={"threshold": 100}, cooldown=timedelta(hours=3))
    # fires at step 1, resolves at 2, true again at 3 and 4 (only 2 h / 3 h after the firing)
    events = replay(rule, [90, 120, 80, 120, 120, 120])
    assert events == [(1, Event.FIRING), (2, Event.RESOLVED), (4, Event.FIRING)]


def test_no_data_keeps_the_state():
    rule = RuleSpec(1, RuleKind.THRESHOLD_ABOVE, "x", params={"threshold": 1}, firing=True)
    inputs = Inputs(series=frame("other", [5.0]), now=T0)
    c = conditions([rule], inputs)
    assert not c["fire"][0] and not c["clear"][0] and np.isnan(c["value"][0])
    assert decide([rule], inputs) == []


def test_change_against_previous_period_and_last_year_matches_pandas():
    rng = np.random.default_rng(7)
    values = list(100 + rng.normal(0, 20, 25))
    s = pd.Series(values)
    prev_change = s.pct_change().iloc[-1] * 100
    ly_change = (s.iloc[-1] / s.iloc[-13] - 1) * 100
    rules = [
        RuleSpec(1, RuleKind.CHANGE, "k", params={"pct": 0.0, "direction": "either", "compare": "previous"}),
        RuleSpec(2, RuleKind.CHANGE, "k", params={"pct": 0.0, "direction": "either", "compare": "last_year"}),
        RuleSpec(3, RuleKind.CHANGE, "k", params={"pct": abs(prev_change) + 1, "direction": "either"}),
    ]
    c = conditions(rules, Inputs(series=frame("k", values), now=T0))
    np.testing.assert_allclose(c["value"][:2], [prev_change, ly_change], rtol=1e-9)
    assert list(c["fire"]) == [True, True, False]
    assert c["period"][0] == pd.Timestamp("2027-01-01")


@pytest.mark.parametrize(("direction", "last", "fires"), [("down", 85, True), ("down", 95, False), ("up", 115, True)])
def test_change_direction(direction, last, fires):
    rule = RuleSpec(1, RuleKind.CHANGE, "k", params={"pct": 10, "direction": direction})
    c = conditions([rule], Inputs(series=frame("k", [100, last]), now=T0))
    assert bool(c["fire"][0]) is fires
    assert c["value"][0] == pytest.approx(last - 100)


def test_goal_status_and_probability():
    rules = [
        RuleSpec(1, RuleKind.GOAL_STATUS, "a", params={"status": "at_risk"}),
        RuleSpec(2, RuleKind.GOAL_STATUS, "b", params={"status": "off_track"}),
        RuleSpec(3, RuleKind.GOAL_PROBABILITY, "a", params={"below": 40, "hysteresis": 10}, firing=True),
        RuleSpec(4, RuleKind.GOAL_PROBABILITY, "b", params={"below": 40}),
    ]
    inputs = Inputs(
        series=frame("a", [1.0]),
        now=T0,
        goal_status={"a": "at_risk", "b": "at_risk"},
        goal_probability={"a": 0.45, "b": 0.30},
    )
    c = conditions(rules, inputs)
    assert list(c["fire"]) == [True, False, False, True]
    assert list(c["clear"]) == [False, True, False, False]  # 45 % is not yet 40 + 10: rule 3 keeps firing
    np.testing.assert_allclose(c["value"][2:], [45, 30])


def test_anomaly_outside_the_band_given():
    key = series_key("k")
    rule = RuleSpec(1, RuleKind.ANOMALY, "k")
    inside = conditions([rule], Inputs(series=frame("k", [10, 12]), now=T0, bands={key: (8, 14)}))
    above = conditions([rule], Inputs(series=frame("k", [10, 15]), now=T0, bands={key: (8, 14)}))
    no_band = conditions([rule], Inputs(series=frame("k", [10, 99]), now=T0))
    assert (inside["fire"][0], inside["clear"][0]) == (False, True)
    assert (above["fire"][0], above["reference"][0]) == (True, 14)
    assert (no_band["fire"][0], no_band["clear"][0]) == (False, False)


def test_freshness_in_hours():
    rule = RuleSpec(1, RuleKind.FRESHNESS, "k", params={"hours": 24})
    stale = conditions([rule], Inputs(series=frame("k", [1]), now=T0, last_data={"k": T0 - timedelta(hours=30)}))
    fresh = conditions([rule], Inputs(series=frame("k", [1]), now=T0, last_data={"k": T0 - timedelta(hours=3)}))
    assert stale["fire"][0] and stale["value"][0] == pytest.approx(30)
    assert fresh["clear"][0] and not fresh["fire"][0]


def test_leading_indicator_predicts_a_miss():
    series = pd.concat([frame("traffic", [1000, 800]), frame("orders", [100, 100])])
    rule = RuleSpec(1, RuleKind.LEADING, "orders", params={"driver": "traffic", "threshold": 90, "beta": 0.8})
    c = conditions([rule], Inputs(series=series, now=T0))
    # traffic -20 %, elasticity 0.8: orders expected 100 * (1 - 0.16) = 84 < 90
    assert c["value"][0] == pytest.approx(84) and c["reference"][0] == pytest.approx(-20)
    assert c["fire"][0]
    milder = RuleSpec(1, RuleKind.LEADING, "orders", params={"driver": "traffic", "threshold": 90, "beta": 0.2})
    assert conditions([milder], Inputs(series=series, now=T0))["clear"][0]


def test_quiet_hours_in_the_orgs_time_zone_defer_to_their_end():
    start, end = time(22, 0), time(7, 0)
    # 22:30 in Berlin in winter (UTC+1) -> 07:00 Berlin = 06:00 UTC next day
    assert deliver_after(datetime(2026, 1, 15, 21, 30, tzinfo=UTC), start, end, "Europe/Berlin") == datetime(
        2026, 1, 16, 6, 0, tzinfo=UTC
    )
    # in summer (UTC+2) the same local time is 05:00 UTC
    assert deliver_after(datetime(2026, 7, 15, 20, 30, tzinfo=UTC), start, end, "Europe/Berlin") == datetime(
        2026, 7, 16, 5, 0, tzinfo=UTC
    )
    # 05:00 Berlin (after midnight, still quiet) -> 07:00 the same day
    assert deliver_after(datetime(2026, 1, 16, 4, 0, tzinfo=UTC), start, end, "Europe/Berlin") == datetime(
        2026, 1, 16, 6, 0, tzinfo=UTC
    )
    noon = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    assert deliver_after(noon, start, end, "Europe/Berlin") == noon
    # 21:30 UTC is quiet in Berlin but not in UTC
    assert deliver_after(datetime(2026, 1, 15, 21, 30, tzinfo=UTC), start, end, "UTC") == datetime(
        2026, 1, 15, 21, 30, tzinfo=UTC
    )
    # a daytime window
    assert deliver_after(noon, time(12, 0), time(14, 0), "Europe/Berlin") == datetime(2026, 1, 15, 13, 0, tzinfo=UTC)


def test_params_are_checked_per_field():
    params, errors = clean_params("threshold_above", {"threshold": "abc", "hysteresis": "-1"})
    assert errors == {"threshold": "'abc' is not a number.", "hysteresis": "Must be at least 0."}
    params, errors = clean_params("change", {"pct": "12,5", "direction": "sideways"})
    assert errors == {"direction": "'sideways' is not one of down, up, either."}
    assert params["pct"] == 12.5 and params["compare"] == "previous"
    assert "kind" in clean_params("telepathy", {})[1]
    assert clean_params("freshness", {})[1] == {"hours": "This field is required for this kind of rule."}


def test_vectorised_conditions_match_a_rule_by_rule_computation():
    rng = np.random.default_rng(3)
    kpis = [f"k{i}" for i in range(30)]
    series = pd.concat([frame(k, list(rng.normal(100, 15, 14))) for k in kpis])
    rules = []
    for i in range(300):
        k = kpis[i % 30]
        if i % 2:
            rules.append(RuleSpec(i, RuleKind.THRESHOLD_BELOW, k, params={"threshold": float(rng.normal(100, 15))}))
        else:
            rules.append(RuleSpec(i, RuleKind.CHANGE, k, params={"pct": 5.0, "direction": "down"}))
    c = conditions(rules, Inputs(series=series, now=T0)).set_index("rule_id")
    for r in rules:
        vals = series[series["key"] == r.key].sort_values("period")["value"].to_numpy()
        if r.kind is RuleKind.THRESHOLD_BELOW:
            expected = vals[-1] < r.params["threshold"]
        else:
            expected = (vals[-1] / vals[-2] - 1) * 100 <= -5
        assert bool(c.loc[r.rule_id, "fire"]) is bool(expected), r
    assert date(2026, 2, 1) == pd.Timestamp(c["period"].iloc[0]).date()
