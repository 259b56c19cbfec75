"""The portfolio review finds planted problems — exactly those — and nothing on a clean model."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headway.analytics.review import CHECKS, MIN_OVERLAP, Finding, KpiFacts, review
from headway.engine.catalog import load_catalog
from headway.engine.periods import Calendar, shift
from headway.engine.spec import Direction, Grain

TODAY = date(2025, 11, 28)  # the latest complete month is October 2025
RECENTLY = datetime(2025, 11, 20, 9, 30)
FIRST = date(2023, 11, 1)  # 24 months: Nov 2023 - Oct 2025


def noise(seed: int, n: int = 24, first: date = FIRST) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(100 + rng.normal(0, 10, n), index=[shift(first, i, Grain.MONTH) for i in range(n)])


def kpi(kpi_id: str, seed: int, **kw: object) -> KpiFacts:
    fields: dict[str, object] = {
        "id": kpi_id,
        "name": kpi_id.replace("_", " ").capitalize(),
        "lagging": False,
        "direction": Direction.HIGHER,
        "category": "financial",
        "objective_ids": (1,),
        "owner": "ann",
        "has_goal": True,
        "goal_ids": (seed,),
        "last_viewed": RECENTLY,
        "series": noise(seed),
        "grain": Grain.MONTH,
        "drivers": (),
        "guardrails": ("gross_margin_pct",),
    }
    fields.update(kw)
    return KpiFacts(**fields)  # type: ignore[arg-type]


def clean_model() -> list[KpiFacts]:
    """Six KPIs on three objectives, each owned, viewed, fresh, with a goal and a guardrail;
    the lagging ones have a leading driver; independent series."""
    return [
        kpi("revenue", 1, lagging=True, drivers=("web_sessions",), objective_ids=(1,)),
        kpi("web_sessions", 2, objective_ids=(1,), category="marketing_sales"),
        kpi(
            "gross_margin_pct", 3, lagging=True, drivers=("discount_rate",), objective_ids=(2,), guardrails=("revenue",)
        ),
        kpi("discount_rate", 4, direction=Direction.LOWER, objective_ids=(2,), guardrails=("gross_margin_pct",)),
        kpi("csat", 5, lagging=True, drivers=("fulfilment_time",), objective_ids=(3,), category="customer"),
        kpi("fulfilment_time", 6, direction=Direction.LOWER, objective_ids=(3,), guardrails=("refund_rate", "csat")),
    ]


def found(findings: list[Finding]) -> set[tuple[str, tuple[str, ...]]]:
    return {(f.check, f.kpi_ids) for f in findings}


def test_clean_model_reports_nothing() -> None:
    model = clean_model()
    series = pd.concat([k.series for k in model], axis=1)
    assert series.corr().abs().where(~np.eye(len(model), dtype=bool)).max().max() < 0.95  # the premise
    assert review(model, today=TODAY) == []


def test_planted_problems_are_found_exactly() -> None:
    catalog = load_catalog()
    base = noise(10)
    model = [
        *clean_model(),
        kpi("orphan", 11, objective_ids=()),
        kpi("nobodys", 12, owner=None),
        kpi("blank_owner", 13, owner="  "),
        kpi("unloved", 14, last_viewed=datetime(2025, 8, 1)),  # 119 days ago
        kpi("never_seen", 15, last_viewed=None),
        kpi("stale_kpi", 16, series=noise(16, n=21)),  # last value July 2025: Aug, Sep, Oct missing
        kpi("twin_a", 17, series=base),
        kpi("twin_b", 18, series=base * 2.5 + np.random.default_rng(18).normal(0, 0.5, 24)),
        kpi("mirror", 19, series=500 - base * 3),
        kpi("lonely_lagging", 20, lagging=True),
        kpi("no_goal_kpi", 21, has_goal=False, guardrails=()),
        kpi(
            "order_fulfilment",
            22,
            direction=Direction.LOWER,
            guardrails=(),
            suggested_guardrails=catalog.kpis["fulfilment_time"].guardrails,
        ),
    ]
    findings = review(model, today=TODAY, kpi_names={k.id: k.name for k in catalog.kpis.values()})
    assert found(findings) == {
        ("no_objective", ("orphan",)),
        ("no_owner", ("nobodys",)),
        ("no_owner", ("blank_owner",)),
        ("not_viewed", ("unloved",)),
        ("not_viewed", ("never_seen",)),
        ("stale", ("stale_kpi",)),
        ("redundant", ("twin_a", "twin_b")),
        ("redundant", ("mirror", "twin_a")),
        ("redundant", ("mirror", "twin_b")),
        ("lagging_without_leading", ("lonely_lagging",)),
        ("no_goal", ("no_goal_kpi",)),
        ("goal_without_guardrail", ("order_fulfilment",)),
        ("objective_overload", tuple(sorted(k.id for k in model if 1 in k.objective_ids))),
    }
    by_check = {(f.check, f.kpi_ids): f for f in findings}
    guard = by_check[("goal_without_guardrail", ("order_fulfilment",))]
    assert guard.severity == "warning"
    # refund_rate is named from the catalog; csat by its name on this scorecard
    assert guard.action.endswith("the catalog suggests Refund rate (refund_rate), Csat (csat).")
    stale = by_check[("stale", ("stale_kpi",))]
    assert stale.value == 3 and "3 months" in stale.message and "2025-07-01" in stale.message
    assert by_check[("not_viewed", ("unloved",))].value == 119
    assert "never been viewed" in by_check[("not_viewed", ("never_seen",))].message
    # the correlations are pandas' own, over the 24 shared months
    twins = by_check[("redundant", ("twin_a", "twin_b"))]
    assert twins.value == pytest.approx(model[12].series.corr(model[13].series))
    mirror = by_check[("redundant", ("mirror", "twin_a"))]
    assert mirror.value == pytest.approx(-1.0) and "mirror image" in mirror.message
    # findings come in the documented check order
    assert [CHECKS.index(f.check) for f in findings] == sorted(CHECKS.index(f.check) for f in findings)
    assert all(f.action and f.message for f in findings)


def test_goal_without_a_catalog_suggestion_is_only_info() -> None:
    model = [*clean_model()[:5], replace(clean_model()[5], guardrails=())]
    (finding,) = review(model, today=TODAY)
    assert (finding.check, finding.severity) == ("goal_without_guardrail", "info")


def test_redundant_threshold_overlap_and_window() -> None:
    base = noise(30)
    rng = np.random.default_rng(31)
    loose = base + rng.normal(0, 5, 24)  # correlated, but well below 0.95
    r = base.corr(loose)
    assert 0.5 < r < 0.95
    assert found(review([kpi("a", 30, series=base), kpi("b", 31, series=loose)], today=TODAY)) == set()
    # a lower threshold catches the same pair
    lowered = review([kpi("a", 30, series=base), kpi("b", 31, series=loose)], today=TODAY, corr_threshold=r - 0.01)
    assert found(lowered) == {("redundant", ("a", "b"))}
    # identical shape but only 11 shared periods: too few to judge
    short = base.iloc[-(MIN_OVERLAP - 1) :]
    assert found(review([kpi("a", 30, series=base), kpi("c", 32, series=short * 2)], today=TODAY)) == set()
    # twins long ago, unrelated in the last 24 months: not redundant now
    old = noise(33, n=48, first=date(2021, 11, 1))
    echo = old.copy()
    echo.iloc[24:] = noise(34).to_numpy()
    assert found(review([kpi("d", 33, series=old), kpi("e", 34, series=echo)], today=TODAY)) == set()
    assert found(review([kpi("d", 33, series=old), kpi("e", 34, series=echo)], today=TODAY, corr_window=48)) == set()
    # a pair that moved together all along is flagged, and the message says over how many periods
    echo2 = old * 3 + 1
    flagged = review([kpi("d", 33, series=old), kpi("e", 34, series=echo2)], today=TODAY)
    assert found(flagged) == {("redundant", ("d", "e"))}
    assert "over 24 shared months" in flagged[0].message
    # different grains are never compared
    weekly = kpi("w", 35, series=base, grain=Grain.WEEK)
    assert ("redundant", ("a", "w")) not in found(review([kpi("a", 30, series=base), weekly], today=TODAY))
    # a flat series has no correlation
    flat = pd.Series(5.0, index=base.index)
    assert found(review([kpi("a", 30, series=base), kpi("f", 36, series=flat)], today=TODAY)) == set()


@pytest.mark.parametrize(
    ("last", "stale"), [(date(2025, 10, 1), False), (date(2025, 9, 1), False), (date(2025, 8, 1), True)]
)
def test_stale_boundary(last: date, stale: bool) -> None:
    # as of 28 Nov the latest complete month is October; a series ending in August misses Sep + Oct = 2
    series = noise(40)
    series = series[series.index <= last]
    model = [*clean_model()[:5], replace(clean_model()[5], series=series)]
    assert (("stale", ("fulfilment_time",)) in found(review(model, today=TODAY))) is stale


def test_stale_when_there_are_no_values() -> None:
    model = [*clean_model()[:5], replace(clean_model()[5], series=pd.Series([None, None], index=[FIRST, FIRST]))]
    (finding,) = review(model, today=TODAY)
    assert finding.check == "stale" and "no values at all" in finding.message


def test_stale_counts_weeks_for_a_weekly_kpi() -> None:
    # weeks start on Monday; on Friday 28 Nov 2025 the latest complete week began on 17 Nov.
    weeks = [date(2025, 9, 1) + timedelta(weeks=i) for i in range(10)]  # last: 3 Nov
    model = [kpi("w", 41, series=pd.Series(1.0, index=weeks), grain=Grain.WEEK)]
    (finding,) = review(model, today=TODAY)
    assert finding.check == "stale" and finding.value == 2  # 10 and 17 Nov missing


@pytest.mark.parametrize(("days", "flagged"), [(90, False), (91, True)])
def test_not_viewed_boundary(days: int, flagged: bool) -> None:
    viewed = datetime.combine(TODAY - timedelta(days=days), datetime.min.time())
    model = [*clean_model()[:5], replace(clean_model()[5], last_viewed=viewed)]
    assert (("not_viewed", ("fulfilment_time",)) in found(review(model, today=TODAY))) is flagged


def test_overload_and_objective_overload() -> None:
    many = [kpi(f"k{i:02d}", 100 + i, objective_ids=(i % 5 + 1,)) for i in range(20)]
    assert review(many, today=TODAY, per_objective_max=5) == []
    over = [*many, kpi("k20", 120, objective_ids=())]
    findings = review(over, today=TODAY)
    overload = [f for f in findings if f.check == "overload"]
    assert len(overload) == 1 and overload[0].value == 21
    assert "21 KPIs" in overload[0].message and "K20" in overload[0].action  # the orphan is the first to go
    assert found(review(over, today=TODAY, max_kpis=25)) == {("no_objective", ("k20",))}
    # six KPIs on one objective, named through objective_names
    crowded = [kpi(f"c{i}", 200 + i, objective_ids=(7,)) for i in range(6)]
    (finding,) = review(crowded, today=TODAY, objective_names={7: "Grow local market share"})
    assert finding.check == "objective_overload" and finding.objective_id == 7 and finding.value == 6
    assert finding.message.startswith("Grow local market share is measured by 6 KPIs")
    assert "2–3" in finding.action
    assert review(crowded[:5], today=TODAY) == []
    # an explicit objective -> KPIs map counts KPIs that are not on this scorecard too
    (mapped,) = review(crowded[:2], today=TODAY, objectives={7: ("c0", "c1", "x", "y", "z", "w")})
    assert mapped.check == "objective_overload" and mapped.kpi_ids == ("c0", "c1", "x", "y", "z", "w")


@settings(max_examples=25, deadline=None)
@given(st.permutations(list(range(9))))
def test_findings_do_not_depend_on_kpi_order(order: list[int]) -> None:
    base = noise(50)
    model = [
        *clean_model(),
        kpi("orphan", 51, objective_ids=(), owner=None),
        kpi("twin", 52, series=base),
        kpi("twin_copy", 53, series=base * 2),
    ]
    expected = review(model, today=TODAY)
    assert review([model[i] for i in order], today=TODAY) == expected


DEFECTS = {
    "no_objective": {"objective_ids": ()},
    "no_owner": {"owner": None},
    "no_goal": {"has_goal": False, "guardrails": ()},
    "goal_without_guardrail": {"guardrails": ()},
    "lagging_without_leading": {"drivers": ()},
    "stale": {"series": noise(60, n=20)},
    "not_viewed": {"last_viewed": datetime(2024, 1, 1)},
}


@pytest.mark.parametrize("check", sorted(DEFECTS))
@pytest.mark.parametrize("index", [0, 2, 4])
def test_one_defect_gives_one_finding(check: str, index: int) -> None:
    """Each planted defect on any one lagging KPI of a clean model shows as exactly one finding."""
    model = clean_model()
    model[index] = replace(model[index], **DEFECTS[check])  # type: ignore[arg-type]
    assert found(review(model, today=TODAY)) == {(check, (model[index].id,))}


def test_every_check_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "goals.md").read_text(encoding="utf-8")
    table = [line.split("|")[1].strip(" `") for line in text.splitlines() if line.startswith("| `")]
    assert table == list(CHECKS)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    gaps=st.lists(st.floats(0, 0.6), min_size=5, max_size=5),
    threshold=st.sampled_from([0.5, 0.8, 0.95]),
)
def test_redundant_pairs_match_a_pair_by_pair_computation(seed: int, gaps: list[float], threshold: float) -> None:
    """The vectorised check agrees with pandas' Series.corr pair by pair, gaps and all."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, 36)
    index = [shift(date(2022, 11, 1), i, Grain.MONTH) for i in range(36)]  # Nov 2022 - Oct 2025
    series = []
    for i, gap in enumerate(gaps):
        values = base * rng.uniform(-2, 2) + rng.normal(0, 0.2 + i * 0.3, 36)
        values[rng.random(36) < gap] = np.nan
        series.append(pd.Series(values, index=index))
    model = [kpi(f"s{i}", 300 + i, series=s) for i, s in enumerate(series)]
    got = {f.kpi_ids: f.value for f in review(model, today=TODAY, corr_threshold=threshold) if f.check == "redundant"}
    want = {}
    for i in range(5):
        for j in range(i + 1, 5):
            both = pd.concat([series[i], series[j]], axis=1).iloc[-24:].dropna()
            if len(both) >= MIN_OVERLAP:
                r = both.iloc[:, 0].corr(both.iloc[:, 1])
                if abs(r) > threshold:
                    want[(f"s{i}", f"s{j}")] = r
    assert got.keys() == want.keys()
    for pair, r in want.items():
        assert got[pair] == pytest.approx(r)


def test_stale_follows_the_organisations_week_start() -> None:
    # Sunday-to-Saturday weeks, last value for the week of Sunday 9 Nov. On Saturday 29 Nov the week
    # of 23 Nov is complete, so 16 and 23 Nov are missing: stale. Counted in Monday weeks, the latest
    # complete week began on Monday 17 Nov and only one week is missing.
    weeks = [date(2025, 9, 7) + timedelta(weeks=i) for i in range(10)]
    model = [kpi("w", 42, series=pd.Series(1.0, index=weeks), grain=Grain.WEEK)]
    saturday = date(2025, 11, 29)
    (finding,) = review(model, today=saturday, calendar=Calendar(week_start=6))
    assert finding.check == "stale" and finding.value == 2
    assert review(model, today=saturday) == []
