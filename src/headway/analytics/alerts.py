"""The alert engine: rule conditions evaluated over an org's series, and the firing/resolved state machine.

Django-free and vectorised: the series are summarised once per series key (latest value,
the period before, the same period a year before), the rules become one frame, and every
kind's condition is a numpy expression over it — 10,000 rules take well under a second.

A rule has two conditions: ``fire`` (start firing) and ``clear`` (stop firing). For most
kinds ``clear`` is simply "not fire"; with hysteresis it is stricter (a threshold of 100
with hysteresis 5 fires above 100 and clears only at 95 or below), so a value wobbling
around the line does not flap. A rule with no value (no data yet) keeps its state.

``decide`` turns conditions into transitions: a rule that is not firing and whose
``fire`` holds starts firing (unless its cooldown since the last firing has not passed);
a firing rule whose ``clear`` holds resolves. One transition, one notification: nothing
is repeated while a rule stays firing. ``deliver_after`` holds a notification back
during the rule's quiet hours in the org's time zone (deferred, not dropped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd


class RuleKind(StrEnum):
    THRESHOLD_ABOVE = "threshold_above"
    THRESHOLD_BELOW = "threshold_below"
    CHANGE = "change"
    GOAL_STATUS = "goal_status"
    GOAL_PROBABILITY = "goal_probability"
    ANOMALY = "anomaly"
    FRESHNESS = "freshness"
    LEADING = "leading"


KIND_LABELS: dict[RuleKind, str] = {
    RuleKind.THRESHOLD_ABOVE: "Goes above a threshold",
    RuleKind.THRESHOLD_BELOW: "Goes below a threshold",
    RuleKind.CHANGE: "Changes by more than a percentage",
    RuleKind.GOAL_STATUS: "Its goal turns at risk / off track",
    RuleKind.GOAL_PROBABILITY: "Its goal's probability of success falls below",
    RuleKind.ANOMALY: "Leaves the forecast band (anomaly)",
    RuleKind.FRESHNESS: "No new data for a number of hours",
    RuleKind.LEADING: "A leading KPI predicts a miss",
}

# Goal statuses from good to bad; a goal_status rule fires at its level or worse.
STATUS_RANK = {"on_track": 0, "achieved": 0, "at_risk": 1, "off_track": 2, "missed": 2}


def series_key(kpi_id: str, grain: str = "month", dimension: str = "", dim_value: str = "") -> str:
    """The key of one series: a KPI at a grain, its total or one dimension value."""
    return f"{kpi_id}|{grain}|{dimension}|{dim_value}"


@dataclass(frozen=True)
class RuleSpec:
    """One rule and its state. ``params`` per kind (see ``PARAMS``)."""

    rule_id: int
    kind: RuleKind
    kpi_id: str
    grain: str = "month"
    dimension: str = ""
    dim_value: str = ""
    params: Mapping[str, object] = field(default_factory=dict)
    firing: bool = False
    last_fired_at: datetime | None = None
    cooldown: timedelta = timedelta(0)

    @property
    def key(self) -> str:
        return series_key(self.kpi_id, self.grain, self.dimension, self.dim_value)


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    required: bool = True
    default: object = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None


PARAMS: dict[RuleKind, tuple[Param, ...]] = {
    RuleKind.THRESHOLD_ABOVE: (Param("threshold", float), Param("hysteresis", float, False, 0.0, minimum=0)),
    RuleKind.THRESHOLD_BELOW: (Param("threshold", float), Param("hysteresis", float, False, 0.0, minimum=0)),
    RuleKind.CHANGE: (
        Param("pct", float, minimum=0),
        Param("direction", str, False, "down", ("down", "up", "either")),
        Param("compare", str, False, "previous", ("previous", "last_year")),
    ),
    RuleKind.GOAL_STATUS: (Param("status", str, False, "at_risk", ("at_risk", "off_track")),),
    RuleKind.GOAL_PROBABILITY: (
        Param("below", float, minimum=0),
        Param("hysteresis", float, False, 0.0, minimum=0),
    ),
    RuleKind.ANOMALY: (),
    RuleKind.FRESHNESS: (Param("hours", float, minimum=0),),
    RuleKind.LEADING: (
        Param("driver", str),
        Param("threshold", float),
        Param("beta", float, False, 1.0),
        Param("lag", float, False, 1.0, minimum=0),
        Param("direction", str, False, "below", ("below", "above")),
    ),
}


def clean_params(kind: str, raw: Mapping[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """The kind's parameters parsed from ``raw`` (form strings or JSON), and an error per bad field."""
    try:
        rule_kind = RuleKind(kind)
    except ValueError:
        return {}, {"kind": f"unknown rule kind {kind!r}; one of {', '.join(k.value for k in RuleKind)}"}
    out: dict[str, object] = {}
    errors: dict[str, str] = {}
    for p in PARAMS[rule_kind]:
        value = raw.get(p.name)
        if value is None or value == "":
            if p.required:
                errors[p.name] = "This field is required for this kind of rule."
            else:
                out[p.name] = p.default
            continue
        if p.kind is float:
            try:
                number = float(str(value).replace(",", "."))
            except ValueError:
                errors[p.name] = f"{value!r} is not a number."
                continue
            if not np.isfinite(number):
                errors[p.name] = "Enter a finite number."
            elif p.minimum is not None and number < p.minimum:
                errors[p.name] = f"Must be at least {p.minimum:g}."
            else:
                out[p.name] = number
        else:
            text = str(value).strip()
            if p.choices and text not in p.choices:
                errors[p.name] = f"{text!r} is not one of {', '.join(p.choices)}."
            else:
                out[p.name] = text
    return out, errors


@dataclass
class Inputs:
    """What the rules are evaluated on.

    ``series``: long frame with columns ``key`` (``series_key``), ``period`` and ``value``.
    ``bands``: series key -> (low, high) of the forecast band for the series' latest period.
    ``goal_status`` / ``goal_probability`` (0..1) / ``last_data`` (when data last arrived): per KPI id.
    """

    series: pd.DataFrame
    now: datetime
    bands: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    goal_status: Mapping[str, str] = field(default_factory=dict)
    goal_probability: Mapping[str, float] = field(default_factory=dict)
    last_data: Mapping[str, datetime] = field(default_factory=dict)


def summarise(series: pd.DataFrame) -> pd.DataFrame:
    """Per series key: the latest period with a value, its value, the one before, and the same period a year before."""
    s = series.dropna(subset=["value"]).sort_values(["key", "period"])
    if s.empty:
        return pd.DataFrame(columns=["period", "value", "previous", "last_year"]).rename_axis("key")
    s = s.assign(period=pd.to_datetime(s["period"]))
    s["previous"] = s.groupby("key", sort=False)["value"].shift(1)
    last = s.groupby("key", sort=False).tail(1).set_index("key")[["period", "value", "previous"]]
    year_before = pd.DataFrame({"key": last.index, "period": (last["period"] - pd.DateOffset(years=1)).to_numpy()})
    ly = year_before.merge(s[["key", "period", "value"]], on=["key", "period"], how="left")
    last["last_year"] = ly["value"].to_numpy()
    return last


def _rules_frame(rules: Sequence[RuleSpec]) -> pd.DataFrame:
    def col(name: str, default: object) -> list[object]:
        return [r.params.get(name, default) for r in rules]

    return pd.DataFrame(
        {
            "rule_id": [r.rule_id for r in rules],
            "kind": [r.kind.value for r in rules],
            "key": [r.key for r in rules],
            "kpi_id": [r.kpi_id for r in rules],
            "driver_key": [
                series_key(str(r.params.get("driver", "")), r.grain, r.dimension, r.dim_value) for r in rules
            ],
            "threshold": np.array(col("threshold", np.nan), dtype=float),
            "hysteresis": np.array(col("hysteresis", 0.0), dtype=float),
            "pct": np.array(col("pct", np.nan), dtype=float),
            "direction": col("direction", ""),
            "compare": col("compare", "previous"),
            "status": col("status", "at_risk"),
            "below": np.array(col("below", np.nan), dtype=float),
            "hours": np.array(col("hours", np.nan), dtype=float),
            "beta": np.array(col("beta", 1.0), dtype=float),
        }
    )


def conditions(rules: Sequence[RuleSpec], inputs: Inputs) -> pd.DataFrame:
    """One row per rule: ``value`` (what the rule looks at), ``reference``, ``period``, ``fire``, ``clear``."""
    r = _rules_frame(rules)
    summary = summarise(inputs.series)
    latest = summary.reindex(r["key"])
    v = latest["value"].to_numpy(dtype=float)
    ref = np.full(len(r), np.nan)
    value = np.full(len(r), np.nan)
    fire = np.zeros(len(r), dtype=bool)
    clear = np.zeros(len(r), dtype=bool)
    kind = r["kind"].to_numpy()
    thr, hyst = r["threshold"].to_numpy(), r["hysteresis"].to_numpy()

    with np.errstate(invalid="ignore", divide="ignore"):
        m = kind == RuleKind.THRESHOLD_ABOVE
        value[m], ref[m] = v[m], thr[m]
        fire[m], clear[m] = v[m] > thr[m], v[m] <= thr[m] - hyst[m]

        m = kind == RuleKind.THRESHOLD_BELOW
        value[m], ref[m] = v[m], thr[m]
        fire[m], clear[m] = v[m] < thr[m], v[m] >= thr[m] + hyst[m]

        m = kind == RuleKind.CHANGE
        base = np.where(r["compare"].to_numpy() == "last_year", latest["last_year"], latest["previous"]).astype(float)
        base[base == 0] = np.nan
        change = (v - base) / np.abs(base) * 100
        direction, pct = r["direction"].to_numpy(), r["pct"].to_numpy()
        moved = np.where(
            direction == "up", change >= pct, np.where(direction == "either", np.abs(change) >= pct, change <= -pct)
        )
        value[m], ref[m] = change[m], base[m]
        fire[m], clear[m] = moved[m], ~moved[m] & ~np.isnan(change[m])

        m = kind == RuleKind.GOAL_STATUS
        rank = r["kpi_id"].map(lambda k: STATUS_RANK.get(inputs.goal_status.get(k, ""), np.nan)).to_numpy(float)
        level = r["status"].map(STATUS_RANK).to_numpy(float)
        value[m], ref[m] = rank[m], level[m]
        fire[m], clear[m] = rank[m] >= level[m], rank[m] < level[m]

        m = kind == RuleKind.GOAL_PROBABILITY
        prob = r["kpi_id"].map(lambda k: inputs.goal_probability.get(k, np.nan)).to_numpy(float) * 100
        below = r["below"].to_numpy()
        value[m], ref[m] = prob[m], below[m]
        fire[m], clear[m] = prob[m] < below[m], prob[m] >= below[m] + hyst[m]

        m = kind == RuleKind.ANOMALY
        bands = r["key"].map(lambda k: inputs.bands.get(k, (np.nan, np.nan)))
        lo = np.array([b[0] for b in bands], dtype=float)
        hi = np.array([b[1] for b in bands], dtype=float)
        outside = (v < lo) | (v > hi)
        known = ~np.isnan(v) & ~np.isnan(lo) & ~np.isnan(hi)
        value[m], ref[m] = np.where(known, v, np.nan)[m], np.where(v < lo, lo, hi)[m]
        fire[m], clear[m] = (outside & known)[m], (~outside & known)[m]

        m = kind == RuleKind.FRESHNESS
        now = pd.Timestamp(inputs.now)
        last = r["kpi_id"].map(lambda k: inputs.last_data.get(k))
        age = np.array([(now - pd.Timestamp(t)).total_seconds() / 3600 if t is not None else np.nan for t in last])
        hours = r["hours"].to_numpy()
        value[m], ref[m] = age[m], hours[m]
        fire[m], clear[m] = age[m] > hours[m], age[m] <= hours[m]

        m = kind == RuleKind.LEADING
        driver = summary.reindex(r["driver_key"])
        d_now, d_prev = driver["value"].to_numpy(float), driver["previous"].to_numpy(float)
        d_prev[d_prev == 0] = np.nan
        driver_change = (d_now - d_prev) / np.abs(d_prev)
        predicted = v * (1 + r["beta"].to_numpy() * driver_change)
        miss = np.where(r["direction"].to_numpy() == "above", predicted > thr, predicted < thr)
        value[m], ref[m] = predicted[m], (driver_change * 100)[m]
        fire[m], clear[m] = miss[m], ~miss[m] & ~np.isnan(predicted[m])

    unknown = np.isnan(value)
    fire[unknown] = False
    clear[unknown] = False
    periods = latest["period"].to_numpy()
    return pd.DataFrame(
        {"rule_id": r["rule_id"], "value": value, "reference": ref, "period": periods, "fire": fire, "clear": clear}
    )


class Event(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Transition:
    rule_id: int
    event: Event
    value: float | None
    reference: float | None
    period: date | None


def decide(rules: Sequence[RuleSpec], inputs: Inputs) -> list[Transition]:
    """The rules that start firing or resolve now (one transition per change of state)."""
    if not rules:
        return []
    c = conditions(rules, inputs)
    firing = np.array([r.firing for r in rules], dtype=bool)
    now = pd.Timestamp(inputs.now).timestamp()
    since = np.array([now - r.last_fired_at.timestamp() if r.last_fired_at else np.inf for r in rules])
    cooldown = np.array([r.cooldown.total_seconds() for r in rules])
    start = ~firing & c["fire"].to_numpy() & (since >= cooldown)
    stop = firing & c["clear"].to_numpy()
    out = []
    for i in np.flatnonzero(start | stop):
        row = c.iloc[i]
        period = None if pd.isna(row["period"]) else pd.Timestamp(row["period"]).date()
        out.append(
            Transition(
                rule_id=int(row["rule_id"]),
                event=Event.FIRING if start[i] else Event.RESOLVED,
                value=None if np.isnan(row["value"]) else float(row["value"]),
                reference=None if np.isnan(row["reference"]) else float(row["reference"]),
                period=period,
            )
        )
    return out


def deliver_after(now: datetime, start: time | None, end: time | None, tz: str) -> datetime:
    """``now`` if it is outside the quiet hours [start, end) in time zone ``tz``, else when they end (aware UTC)."""
    if start is None or end is None or start == end:
        return now
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    overnight = start > end
    quiet = (t >= start or t < end) if overnight else (start <= t < end)
    if not quiet:
        return now
    end_day = local.date() + timedelta(days=1) if overnight and t >= start else local.date()
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo or ZoneInfo("UTC"))
