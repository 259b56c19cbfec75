"""Mapping proposals from names (several languages) and values; the mapping file format."""

from __future__ import annotations

from pathlib import Path

import pytest

from headway.ingest import files

VALUES = {
    "ordered_at": "2024-03-01",
    "total_amount": "12.50",
    "order_id": "SO-1",
    "customer_id": "K-7",
    "status": "placed",
    "quantity": "3",
}


def _table(tmp_path: Path, headers: list[str], fields: list[str]) -> files.RawTable:
    rows = [",".join(headers)] + [",".join(VALUES[f] for f in fields)] * 3
    path = tmp_path / "in.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return files.read_file(path)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Order Date", "ordered_at"),
        ("Bestelldatum", "ordered_at"),
        ("Fecha", "ordered_at"),
        ("Date de commande", "ordered_at"),
        ("Data ordine", "ordered_at"),
        ("orderDate", "ordered_at"),
        ("Betrag", "total_amount"),
        ("Importe", "total_amount"),
        ("Montant", "total_amount"),
        ("Umsatz (€)", "total_amount"),
        ("Bestellnummer", "order_id"),
        ("Nº de pedido", "order_id"),
        ("Kundennummer", "customer_id"),
        ("Client", "customer_id"),
    ],
)
def test_column_names_in_several_languages_map_to_canonical_fields(tmp_path, header, field):
    others = [f for f in ("order_id", "customer_id", "ordered_at", "total_amount") if f != field]
    table = _table(tmp_path, [header, *others], [field, *others])
    mapping = files.propose_mapping(table, "orders")
    assert mapping.columns[header] == field


def test_the_dataset_type_is_detected_and_values_decide_where_names_do_not(tmp_path):
    fields = ["order_id", "customer_id", "ordered_at", "total_amount", "status"]
    table = _table(tmp_path, ["Beleg", "Kunde", "Datum", "Wert", "Zustand"], fields)
    mapping = files.propose_mapping(table)
    assert mapping.dataset_type == "orders"
    assert mapping.columns == {
        "Beleg": "order_id",
        "Kunde": "customer_id",
        "Datum": "ordered_at",
        "Wert": "total_amount",
        "Zustand": "status",  # not a known word: recognised from its values (placed)
    }
    assert mapping.missing == []


def test_a_name_whose_values_do_not_fit_is_not_taken(tmp_path):
    # "Datum" holds amounts here: a date field must not take it.
    table = _table(
        tmp_path, ["Nr", "Kunde", "Datum", "Betrag"], ["order_id", "customer_id", "total_amount", "ordered_at"]
    )
    mapping = files.propose_mapping(table, "orders")
    assert mapping.columns["Datum"] != "ordered_at"
    assert mapping.columns["Betrag"] != "total_amount"


def test_unknown_columns_are_kept_as_extra_columns_with_safe_names(tmp_path):
    table = _table(tmp_path, ["order_id", "customer_id", "ordered_at", "total_amount", "Notiz (intern)", "2. Wahl"], [
        "order_id", "customer_id", "ordered_at", "total_amount", "customer_id", "quantity",
    ])  # fmt: skip
    mapping = files.propose_mapping(table, "orders")
    assert mapping.columns["Notiz (intern)"] == "notiz_intern"
    assert mapping.columns["2. Wahl"] == "c_2_wahl"
    assert mapping.confidence["Notiz (intern)"] == 0.0


def test_no_canonical_type_when_nothing_fits(tmp_path):
    path = tmp_path / "misc.csv"
    path.write_text("Farbe,Gewicht\nrot,3\nblau,4\n", encoding="utf-8")
    mapping = files.propose_mapping(files.read_file(path))
    assert mapping.dataset_type is None
    assert mapping.columns == {"Farbe": "farbe", "Gewicht": "gewicht"}


def test_mapping_yaml_round_trip():
    mapping = files.Mapping(
        "orders",
        {"Nr": "order_id", "Wer": "customer_id", "Wann": "ordered_at", "Wieviel": "total_amount", "X": None},
        decimal="comma",
        date_order="dmy",
    )
    again = files.Mapping.from_yaml(mapping.to_yaml())
    assert again.to_dict() == mapping.to_dict()
    assert again.columns["X"] is None and again.missing == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dataset_type: invoices\ncolumns: {A: b}\n", "unknown dataset type 'invoices'"),
        ("columns: [a, b]\n", "expected 'dataset_type' and a 'columns' table"),
        ("dataset_type: orders\ncolumns: {A: order_id, B: order_id}\n", "more than one column is mapped to order_id"),
        ("dataset_type: orders\ncolumns: {A: Order Id}\n", "must be lower case letters"),
        ("dataset_type: orders\ncolumns: {A: a}\ndecimal: dot\n", "decimal must be 'point' or 'comma'"),
        ("dataset_type: orders\ncolumns: {A: a}\nsheet: x\n", "unknown key"),
        ("dataset_type: [\n", "not valid YAML"),
    ],
)
def test_bad_mapping_files_say_what_is_wrong(text, message):
    with pytest.raises(files.MappingError, match=message):
        files.Mapping.from_yaml(text, where="map.yaml")


def test_a_column_named_after_the_field_is_mapped_even_when_its_values_are_bad(tmp_path):
    # Found by the property test: one row whose only date is 31 February.
    path = tmp_path / "o.csv"
    path.write_text("order_id;customer_id;ordered_at;total_amount\nO1;C1;31.02.2024;0.01\n", encoding="utf-8")
    mapping = files.propose_mapping(files.read_file(path), "orders")
    assert mapping.columns["ordered_at"] == "ordered_at" and mapping.missing == []
