"""The canonical data model: dataset types the KPI catalog is written against.

A user who maps a file's columns to one of these types gets the catalog's KPIs with
no formulas to write. Field names follow DESIGN.md; every field has a type, whether it
is required, and a one-line description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"

    @property
    def is_numeric(self) -> bool:
        return self in (FieldType.INTEGER, FieldType.DECIMAL)

    @property
    def is_temporal(self) -> bool:
        return self in (FieldType.DATE, FieldType.TIMESTAMP)


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool
    description: str
    values: tuple[str, ...] = ()
    """Allowed values for an enumerated text field (empty: any)."""


@dataclass(frozen=True)
class DatasetType:
    name: str
    description: str
    fields: tuple[Field, ...]
    time_field: str
    """The column a KPI over this dataset is placed in time by, unless it says otherwise."""
    key: tuple[str, ...] = ()
    """Columns that identify a row (used for upserts and duplicate checks)."""
    _index: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {f.name: f for f in self.fields})

    def field(self, name: str) -> Field | None:
        return self._index.get(name)

    @property
    def required_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)

    def column_types(self) -> dict[str, FieldType]:
        return {f.name: f.type for f in self.fields}


S, INT, D, B, DT, TS = (
    FieldType.STRING,
    FieldType.INTEGER,
    FieldType.DECIMAL,
    FieldType.BOOLEAN,
    FieldType.DATE,
    FieldType.TIMESTAMP,
)


def _f(name: str, type_: FieldType, description: str, values: tuple[str, ...] = ()) -> Field:
    return Field(name, type_, True, description, values)


def _opt(name: str, type_: FieldType, description: str, values: tuple[str, ...] = ()) -> Field:
    return Field(name, type_, False, description, values)


DATASET_TYPES: tuple[DatasetType, ...] = (
    DatasetType(
        "orders",
        "One row per customer order (web shop, till, invoice).",
        (
            _f("order_id", S, "Unique order number."),
            _f("customer_id", S, "Who placed the order."),
            _f("ordered_at", TS, "When the order was placed."),
            _f("total_amount", D, "Order value charged to the customer, after discounts, before tax."),
            _opt("cost_amount", D, "Cost of the goods sold in the order."),
            _opt("discount_amount", D, "Discount granted on the order."),
            _opt("channel", S, "Sales channel (web, store, marketplace, phone, ...)."),
            _opt("region", S, "Sales region."),
            _opt("status", S, "Order status.", ("placed", "fulfilled", "delivered", "cancelled", "refunded")),
            _opt("promised_at", TS, "When delivery was promised to the customer."),
            _opt("fulfilled_at", TS, "When the order was packed and shipped (or served)."),
            _opt("delivered_at", TS, "When the customer received the order."),
        ),
        time_field="ordered_at",
        key=("order_id",),
    ),
    DatasetType(
        "order_lines",
        "One row per product line of an order.",
        (
            _f("order_id", S, "The order this line belongs to."),
            _f("product_id", S, "The product sold."),
            _f("quantity", D, "Units sold."),
            _f("unit_price", D, "Price per unit charged."),
            _opt("unit_cost", D, "Cost per unit."),
            _opt("ordered_at", TS, "When the order was placed (copied from the order for time placement)."),
            _opt("channel", S, "Sales channel of the order."),
        ),
        time_field="ordered_at",
        key=("order_id", "product_id"),
    ),
    DatasetType(
        "customers",
        "One row per customer.",
        (
            _f("customer_id", S, "Unique customer id."),
            _f("created_at", TS, "When the customer signed up or first bought."),
            _opt("segment", S, "Customer segment (e.g. retail, wholesale, SMB, enterprise)."),
            _opt("region", S, "Customer region."),
            _opt("country", S, "Customer country (ISO code)."),
            _opt("acquisition_channel", S, "Channel the customer was acquired through."),
        ),
        time_field="created_at",
        key=("customer_id",),
    ),
    DatasetType(
        "subscriptions",
        "One row per subscription (recurring revenue).",
        (
            _f("subscription_id", S, "Unique subscription id."),
            _f("customer_id", S, "The subscribing customer."),
            _f("started_at", TS, "When the subscription started."),
            _opt("ended_at", TS, "When it ended (empty while active)."),
            _f("mrr", D, "Monthly recurring revenue of the subscription."),
            _opt("plan", S, "Plan name."),
        ),
        time_field="started_at",
        key=("subscription_id",),
    ),
    DatasetType(
        "products",
        "One row per product or menu item.",
        (
            _f("product_id", S, "Unique product id."),
            _f("name", S, "Product name."),
            _opt("category", S, "Product category."),
            _f("unit_cost", D, "Cost per unit."),
            _f("unit_price", D, "List price per unit."),
            _opt("lead_time_days", D, "Supplier lead time in days."),
        ),
        time_field="",
        key=("product_id",),
    ),
    DatasetType(
        "inventory_snapshots",
        "Stock on hand per product at a date.",
        (
            _f("product_id", S, "The product counted."),
            _f("snapshot_date", DT, "Date of the count."),
            _f("on_hand_qty", D, "Units on hand."),
            _opt("on_hand_value", D, "Value of the units on hand at cost."),
        ),
        time_field="snapshot_date",
        key=("product_id", "snapshot_date"),
    ),
    DatasetType(
        "marketing_spend",
        "Marketing spend per day and channel.",
        (
            _f("date", DT, "Day of the spend."),
            _f("channel", S, "Marketing channel (search, social, email, print, ...)."),
            _f("spend", D, "Amount spent."),
            _opt("impressions", INT, "Ad impressions."),
            _opt("clicks", INT, "Ad clicks."),
        ),
        time_field="date",
        key=("date", "channel"),
    ),
    DatasetType(
        "web_traffic",
        "Website visits per day (and source).",
        (
            _f("date", DT, "Day of the visits."),
            _f("sessions", INT, "Number of sessions."),
            _opt("users", INT, "Number of distinct users."),
            _opt("source", S, "Traffic source."),
        ),
        time_field="date",
        key=("date", "source"),
    ),
    DatasetType(
        "leads",
        "Sales leads and whether they converted.",
        (
            _f("lead_id", S, "Unique lead id."),
            _f("created_at", TS, "When the lead came in."),
            _opt("source", S, "Where the lead came from."),
            _opt("converted_at", TS, "When the lead became a customer (empty if not)."),
        ),
        time_field="created_at",
        key=("lead_id",),
    ),
    DatasetType(
        "support_tickets",
        "Customer support tickets.",
        (
            _f("ticket_id", S, "Unique ticket id."),
            _opt("customer_id", S, "Customer who opened it."),
            _f("opened_at", TS, "When the ticket was opened."),
            _opt("first_response_at", TS, "When the customer first got an answer."),
            _opt("resolved_at", TS, "When the ticket was resolved."),
            _opt("category", S, "Ticket category."),
        ),
        time_field="opened_at",
        key=("ticket_id",),
    ),
    DatasetType(
        "survey_responses",
        "Answers to customer, partner and employee surveys (NPS, CSAT, CES, ...).",
        (
            _f("response_id", S, "Unique response id."),
            _opt("customer_id", S, "Respondent, if known."),
            _f("responded_at", TS, "When the answer was given."),
            _f("survey", S, "Survey kind.", ("nps", "csat", "ces", "partner", "employee")),
            _f("score", D, "Score given (NPS 0-10, CSAT 1-5, CES 1-7, ...)."),
        ),
        time_field="responded_at",
        key=("response_id",),
    ),
    DatasetType(
        "ledger",
        "General-ledger amounts per account (from the accounting system).",
        (
            _f("date", DT, "Booking date."),
            _f("account", S, "Account name or number."),
            _f("category", S, "Account category.", ("revenue", "cogs", "opex", "capex", "tax", "other")),
            _f("amount", D, "Amount booked (positive)."),
        ),
        time_field="date",
    ),
    DatasetType(
        "cash_transactions",
        "Money in and out of the bank accounts.",
        (
            _f("date", DT, "Value date."),
            _f("amount", D, "Amount moved (positive)."),
            _f("direction", S, "Money in or out.", ("in", "out")),
            _opt("category", S, "What it was for (sales, payroll, rent, receivable, ...)."),
        ),
        time_field="date",
    ),
    DatasetType(
        "employees",
        "People employed, with hire and leave dates.",
        (
            _f("employee_id", S, "Unique employee id."),
            _opt("department", S, "Department."),
            _f("hired_at", DT, "Hire date."),
            _opt("left_at", DT, "Leave date (empty while employed)."),
            _opt("fte", D, "Full-time equivalent (1.0 = full time)."),
        ),
        time_field="hired_at",
        key=("employee_id",),
    ),
    DatasetType(
        "timesheets",
        "Hours worked per employee and day.",
        (
            _f("employee_id", S, "Who worked."),
            _f("date", DT, "Day worked."),
            _f("hours", D, "Hours worked."),
            _opt("billable", B, "Whether the hours are billable to a client."),
        ),
        time_field="date",
    ),
    DatasetType(
        "training",
        "Training hours per employee.",
        (
            _f("employee_id", S, "Who was trained."),
            _f("date", DT, "Day of the training."),
            _f("hours", D, "Hours of training."),
        ),
        time_field="date",
    ),
    DatasetType(
        "production_runs",
        "Production runs on a line, with output and defects.",
        (
            _f("run_id", S, "Unique run id."),
            _f("line", S, "Production line."),
            _opt("product_id", S, "Product made."),
            _f("started_at", TS, "Run start."),
            _f("completed_at", TS, "Run end."),
            _f("units_produced", D, "Units produced."),
            _f("units_defective", D, "Units found defective."),
            _opt("defect_cause", S, "Main defect cause."),
        ),
        time_field="completed_at",
        key=("run_id",),
    ),
    DatasetType(
        "deliveries",
        "Deliveries made by the fleet.",
        (
            _f("delivery_id", S, "Unique delivery id."),
            _opt("vehicle_id", S, "Vehicle used."),
            _f("dispatched_at", TS, "When the delivery left."),
            _opt("delivered_at", TS, "When it arrived."),
            _opt("promised_at", TS, "When it was promised."),
            _opt("distance_km", D, "Distance driven in km."),
            _opt("fuel_litres", D, "Fuel used in litres."),
        ),
        time_field="dispatched_at",
        key=("delivery_id",),
    ),
    DatasetType(
        "maintenance",
        "Vehicle or equipment maintenance costs.",
        (
            _f("vehicle_id", S, "Vehicle or machine maintained."),
            _f("date", DT, "Day of the maintenance."),
            _f("cost", D, "Cost of the maintenance."),
        ),
        time_field="date",
    ),
    DatasetType(
        "table_turns",
        "Restaurant table seatings.",
        (
            _f("seated_at", TS, "When the party sat down."),
            _f("left_at", TS, "When the party left."),
            _opt("table_id", S, "Table."),
            _f("covers", INT, "Number of guests."),
            _f("check_amount", D, "Amount of the bill."),
        ),
        time_field="seated_at",
    ),
    DatasetType(
        "projects",
        "Client projects (agencies, IT services).",
        (
            _f("project_id", S, "Unique project id."),
            _opt("client", S, "Client name."),
            _f("started_at", DT, "Start date."),
            _opt("due_at", DT, "Due date."),
            _opt("completed_at", DT, "Completion date."),
            _opt("budget", D, "Budgeted cost."),
            _opt("actual_cost", D, "Actual cost."),
        ),
        time_field="started_at",
        key=("project_id",),
    ),
    DatasetType(
        "checkout_waits",
        "Measured customer waiting times at the checkout.",
        (
            _opt("store", S, "Store."),
            _f("measured_at", TS, "When the wait was measured."),
            _f("wait_seconds", D, "Seconds the customer waited."),
        ),
        time_field="measured_at",
    ),
    DatasetType(
        "esg_measurements",
        "Environmental, social and governance measures (energy, waste, emissions, ...).",
        (
            _f("date", DT, "Day of the measure."),
            _f("measure", S, "What was measured (energy_kwh, co2_kg, waste_kg, ...)."),
            _f("value", D, "Measured value."),
            _f("unit", S, "Unit of the value."),
        ),
        time_field="date",
    ),
    DatasetType(
        "external_signals",
        "Outside signals: market sentiment, disruption index, partner scores, ...",
        (
            _f("date", DT, "Day of the signal."),
            _f("signal", S, "Signal name."),
            _f("value", D, "Signal value."),
        ),
        time_field="date",
    ),
)

CANONICAL: dict[str, DatasetType] = {t.name: t for t in DATASET_TYPES}


def dataset_type(name: str) -> DatasetType | None:
    return CANONICAL.get(name)
