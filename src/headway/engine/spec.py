"""KPI specifications: frozen pydantic models, read from YAML.

A KPI is metadata (what it means, how to read it) plus a metric: how its value is
computed for a period. Metric kinds are a tagged union on ``kind``; see
docs/kpi-spec.md for the YAML format with an example of each.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Category(StrEnum):
    FINANCIAL = "financial"
    CUSTOMER = "customer"
    OPERATIONAL = "operational"
    MARKETING_SALES = "marketing_sales"
    PEOPLE = "people"
    ESG = "esg"
    INNOVATION_STRATEGY = "innovation_strategy"
    RISK_SECURITY = "risk_security"


class Indicator(StrEnum):
    LEADING = "leading"
    LAGGING = "lagging"


class Direction(StrEnum):
    HIGHER = "higher"
    """Higher is better."""
    LOWER = "lower"
    """Lower is better."""


class Unit(StrEnum):
    CURRENCY = "currency"
    PERCENT = "percent"
    """Stored as a fraction (0.25) and shown as 25%."""
    COUNT = "count"
    RATIO = "ratio"
    SCORE = "score"
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    SECONDS = "seconds"
    UNITS = "units"
    KWH = "kwh"
    KG = "kg"
    KM_PER_LITRE = "km_per_litre"
    INDEX = "index"

    @property
    def label(self) -> str:
        """A short label for table headers, chart axes and lists."""
        return _UNIT_LABELS.get(self, self.value)


_UNIT_LABELS = {
    Unit.CURRENCY: "currency",
    Unit.PERCENT: "%",
    Unit.KWH: "kWh",
    Unit.KM_PER_LITRE: "km per litre",
}


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Agg(StrEnum):
    SUM = "sum"
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    MEDIAN = "median"
    PERCENTILE = "percentile"

    @property
    def additive(self) -> bool:
        """Sums and counts add up across periods; an empty period is 0, not unknown."""
        return self in (Agg.SUM, Agg.COUNT)

    @property
    def zero_when_empty(self) -> bool:
        """Sums and counts of no rows are 0; an average or median of no rows is unknown."""
        return self in (Agg.SUM, Agg.COUNT, Agg.COUNT_DISTINCT)


class Thresholds(Frozen):
    """Traffic-light bands, read in the KPI's direction.

    For a higher-is-better KPI a value >= ``good`` is green, >= ``warning`` amber,
    else red; for lower-is-better the comparisons flip. ``basis`` says whether the
    bands apply to the value itself or to its change vs the previous period.
    """

    good: float
    warning: float
    basis: Literal["value", "change"] = "value"


# --- metric kinds -----------------------------------------------------------


class Aggregate(Frozen):
    """An aggregate over one dataset: ``agg(expr)`` over the rows matching ``filter``."""

    kind: Literal["aggregate"] = "aggregate"
    dataset: str
    agg: Agg
    expr: str | None = None
    """SQL expression over the dataset's columns; omitted for a row count."""
    filter: str | None = None
    """SQL condition over the dataset's columns."""
    time: str | None = None
    """Column placing a row in time; defaults to the dataset type's time field."""
    percentile: float | None = Field(default=None, gt=0, lt=1)
    first_per: str | None = None
    """Count only each entity's first row (e.g. ``customer_id``: first orders)."""

    @model_validator(mode="after")
    def _check(self) -> Aggregate:
        if self.agg is not Agg.COUNT and self.expr is None:
            raise ValueError(f"agg '{self.agg.value}' needs an expr")
        if (self.agg is Agg.PERCENTILE) != (self.percentile is not None):
            raise ValueError("percentile is required with agg 'percentile' and only there")
        return self


class KpiRef(Frozen):
    kpi: str


class Ratio(Frozen):
    """numerator / denominator; undefined (null) when the denominator is 0."""

    kind: Literal["ratio"]
    numerator: Aggregate | KpiRef
    denominator: Aggregate | KpiRef


class Derived(Frozen):
    """Arithmetic over other KPIs, named by id in ``formula`` (e.g. ``revenue - cogs``)."""

    kind: Literal["derived"]
    formula: str


class Component(Frozen):
    kpi: str
    weight: float = Field(gt=0)
    scale: float = Field(default=1.0, gt=0)
    """The component enters the index as value / scale (e.g. its target)."""
    invert: bool = False
    """For lower-is-better components: enters as scale / value."""


class Composite(Frozen):
    """A weighted composite index: sum(weight * normalised value) / sum(weight)."""

    kind: Literal["composite"]
    components: tuple[Component, ...] = Field(min_length=1)


class Window(StrEnum):
    MTD = "mtd"
    QTD = "qtd"
    YTD = "ytd"
    ROLLING = "rolling"
    ALL = "all"
    """Running total since the first data (a balance)."""


class Cumulative(Frozen):
    """To-date or rolling sum of an additive KPI (MTD, QTD, fiscal YTD, rolling N periods, all time)."""

    kind: Literal["cumulative"]
    base: str
    window: Window
    periods: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Cumulative:
        if (self.window is Window.ROLLING) != (self.periods is not None):
            raise ValueError("periods is required with window 'rolling' and only there")
        return self


class Compare(StrEnum):
    PREVIOUS = "previous"
    YEAR_AGO = "year_ago"


class Change(StrEnum):
    GROWTH = "growth"
    """(current - comparison) / |comparison|, a fraction."""
    DIFFERENCE = "difference"
    RATIO = "ratio"


class PeriodOverPeriod(Frozen):
    """Change of a KPI vs the previous period or the same period a year earlier."""

    kind: Literal["period_over_period"]
    base: str
    compare: Compare = Compare.PREVIOUS
    change: Change = Change.GROWTH


class DurationUnit(StrEnum):
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    SECONDS = "seconds"


class Duration(Frozen):
    """Average (or median, percentile) time between two timestamps of a row."""

    kind: Literal["duration"]
    dataset: str
    start: str
    end: str
    agg: Literal[Agg.AVG, Agg.MEDIAN, Agg.PERCENTILE, Agg.MIN, Agg.MAX] = Agg.AVG
    percentile: float | None = Field(default=None, gt=0, lt=1)
    unit: DurationUnit = DurationUnit.DAYS
    filter: str | None = None
    time: str | None = None
    """Column placing a row in time; defaults to ``end`` (measured when finished)."""

    @model_validator(mode="after")
    def _check(self) -> Duration:
        if (self.agg is Agg.PERCENTILE) != (self.percentile is not None):
            raise ValueError("percentile is required with agg 'percentile' and only there")
        return self


class RetentionOutput(StrEnum):
    RETENTION = "retention"
    CHURN = "churn"


class Retention(Frozen):
    """Share of entities active in the previous period that are still active now.

    ``activity`` mode: an entity is active in a period if it has a row in it (a
    customer ordering). ``interval`` mode: active at a period's end if
    ``start <= end of period`` and ``end`` is empty or later (a subscription).
    """

    kind: Literal["retention"]
    dataset: str
    entity: str
    mode: Literal["activity", "interval"] = "activity"
    start: str | None = None
    end: str | None = None
    output: RetentionOutput = RetentionOutput.RETENTION
    filter: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Retention:
        if self.mode == "interval" and (self.start is None or self.end is None):
            raise ValueError("interval mode needs start and end columns")
        return self


class Snapshot(Frozen):
    """Value at the last snapshot in each period (inventory on hand, headcount on a day)."""

    kind: Literal["snapshot"]
    dataset: str
    expr: str
    agg: Literal[Agg.SUM, Agg.AVG, Agg.MAX, Agg.MIN] = Agg.SUM
    filter: str | None = None
    time: str | None = None
    per: str | None = None
    """Take each ``per`` value's own latest row in the period (e.g. ``product_id``: every
    product's last count), instead of only the rows at the period's latest snapshot."""


class Manual(Frozen):
    """No formula: values are entered by hand per period (market sentiment, partner satisfaction)."""

    kind: Literal["manual"]


Metric = Annotated[
    Aggregate | Ratio | Derived | Composite | Cumulative | PeriodOverPeriod | Duration | Retention | Snapshot | Manual,
    Field(discriminator="kind"),
]

# --- the KPI ------------------------------------------------------------------


class Kpi(Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    name: str
    description: str = ""
    """What it tells you and how to move it, in plain words."""
    metric: Metric
    category: Category
    indicator: Indicator = Indicator.LAGGING
    direction: Direction = Direction.HIGHER
    unit: Unit = Unit.COUNT
    format: str | None = None
    """Display format: ``number:0``, ``currency:2``, ``percent:1``."""
    scale: tuple[float, float] | None = None
    """The range a score lives on, lowest and highest (CSAT ``[1, 5]``, NPS ``[-100, 100]``): shown with the
    value (``4.31 / 5``) and on the KPI's page, so a number is not read without its scale."""
    default_grain: Grain = Grain.MONTH
    thresholds: Thresholds | None = None
    guardrails: tuple[str, ...] = ()
    """KPIs to watch so improving this one does not hurt the business elsewhere."""
    owner: str | None = None
    department: str | None = None
    tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_scale(self) -> Kpi:
        if self.scale is not None and not self.scale[0] < self.scale[1]:
            raise ValueError(
                f"scale: the lowest value ({self.scale[0]:g}) must be below the highest ({self.scale[1]:g})"
            )
        return self

    @model_validator(mode="after")
    def _check_thresholds(self) -> Kpi:
        t = self.thresholds
        if t is not None:
            if self.direction is Direction.HIGHER and t.good < t.warning:
                raise ValueError(f"thresholds: higher is better, so good ({t.good}) must be >= warning ({t.warning})")
            if self.direction is Direction.LOWER and t.good > t.warning:
                raise ValueError(f"thresholds: lower is better, so good ({t.good}) must be <= warning ({t.warning})")
        return self

    @property
    def kind(self) -> str:
        return self.metric.kind


class KpiModel(Frozen):
    """A YAML model file: a list of KPIs (and optionally which file it came from)."""

    kpis: tuple[Kpi, ...]
    source: str | None = None

    def by_id(self) -> dict[str, Kpi]:
        return {k.id: k for k in self.kpis}
