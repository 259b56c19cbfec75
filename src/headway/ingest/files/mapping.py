"""Mapping a file's columns to a canonical dataset type, proposed from names and values.

Column names are matched against words for each canonical field in English, German,
French, Spanish, Italian, Dutch and Portuguese ("Order Date", "Bestelldatum", "Fecha",
"Date de commande" -> ``ordered_at``); the column's values must fit the field's type
(a date for a date field, a number for an amount). The dataset type is the canonical
type whose required fields are best covered.

A mapping is saved as YAML and reused for the next file::

    dataset_type: orders
    columns:
      Bestellnummer: order_id
      Bestelldatum: ordered_at
      Betrag: total_amount
      Notiz: note          # kept as an extra column
      Intern: null         # not imported
    decimal: comma         # optional: point | comma (detected when absent)
    date_order: dmy        # optional: dmy | mdy (detected when absent)
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import yaml

from headway.engine.canonical import CANONICAL, DatasetType, FieldType
from headway.ingest.files.reading import DetectedType, IngestError, RawTable, snake_name


class MappingError(IngestError):
    """A mapping that cannot be used: unknown dataset type or field, a required field not mapped."""


# Words for canonical fields. Keys are field names (shared across dataset types); values
# are normalised (lower case, no accents, words separated by one space).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": (
        "order id",
        "order",
        "order no",
        "order number",
        "order nr",
        "order ref",
        "bestellnummer",
        "bestellung",
        "bestell nr",
        "auftragsnummer",
        "auftrag",
        "numero de commande",
        "commande",
        "n commande",
        "id commande",
        "numero de pedido",
        "pedido",
        "id pedido",
        "numero ordine",
        "ordine",
        "id ordine",
        "bestelnummer",
        "bestelling",
        "ordernummer",
        "numero do pedido",
        "invoice",
        "invoice no",
        "invoice number",
        "rechnungsnummer",
        "beleg",
        "belegnummer",
        "facture",
        "factura",
        "fattura",
        "transaction id",
    ),
    "customer_id": (
        "customer id",
        "customer",
        "customer no",
        "customer number",
        "client id",
        "client",
        "kunde",
        "kunden id",
        "kundennummer",
        "kunden nr",
        "id client",
        "numero client",
        "cliente",
        "id cliente",
        "numero de cliente",
        "codice cliente",
        "klant",
        "klantnummer",
        "buyer",
        "account id",
    ),
    "ordered_at": (
        "order date",
        "ordered at",
        "date",
        "order time",
        "ordered",
        "created",
        "created at",
        "purchase date",
        "bestelldatum",
        "datum",
        "bestellzeit",
        "auftragsdatum",
        "date de commande",
        "date commande",
        "fecha",
        "fecha de pedido",
        "fecha pedido",
        "data ordine",
        "data",
        "besteldatum",
        "orderdatum",
        "data do pedido",
        "invoice date",
        "rechnungsdatum",
        "belegdatum",
        "date facture",
        "fecha factura",
        "transaction date",
    ),
    "total_amount": (
        "total amount",
        "amount",
        "total",
        "order total",
        "order value",
        "value",
        "revenue",
        "sales",
        "net amount",
        "betrag",
        "gesamtbetrag",
        "umsatz",
        "summe",
        "wert",
        "nettobetrag",
        "montant",
        "montant total",
        "total ttc",
        "chiffre d affaires",
        "importe",
        "importe total",
        "total pedido",
        "ventas",
        "importo",
        "totale",
        "valore",
        "bedrag",
        "totaal",
        "omzet",
        "valor",
        "valor total",
        "gross sales",
        "net sales",
    ),
    "cost_amount": (
        "cost",
        "cost amount",
        "cogs",
        "kosten",
        "einstandspreis",
        "cout",
        "coste",
        "costo",
        "kosten bedrag",
        "custo",
    ),
    "discount_amount": (
        "discount",
        "discount amount",
        "rabatt",
        "nachlass",
        "remise",
        "descuento",
        "sconto",
        "korting",
        "desconto",
    ),
    "channel": ("channel", "sales channel", "kanal", "vertriebskanal", "canal", "canale", "kanaal", "source"),
    "region": ("region", "area", "gebiet", "region de venta", "regione", "regio", "territory"),
    "status": ("status", "order status", "state", "bestellstatus", "statut", "estado", "stato"),
    "promised_at": ("promised at", "promised date", "due date", "liefertermin", "date promise", "fecha prometida"),
    "fulfilled_at": (
        "fulfilled at",
        "shipped at",
        "ship date",
        "shipped",
        "versanddatum",
        "versendet",
        "date d expedition",
        "fecha de envio",
    ),
    "delivered_at": (
        "delivered at",
        "delivery date",
        "delivered",
        "lieferdatum",
        "zugestellt",
        "date de livraison",
        "fecha de entrega",
        "data consegna",
    ),
    "product_id": (
        "product id",
        "product",
        "sku",
        "item",
        "item id",
        "artikel",
        "artikelnummer",
        "produkt",
        "produit",
        "reference",
        "producto",
        "articulo",
        "prodotto",
        "articolo",
        "artikelnr",
        "produto",
    ),
    "quantity": (
        "quantity",
        "qty",
        "units",
        "menge",
        "anzahl",
        "stuck",
        "quantite",
        "cantidad",
        "quantita",
        "aantal",
        "quantidade",
    ),
    "unit_price": (
        "unit price",
        "price",
        "preis",
        "einzelpreis",
        "stuckpreis",
        "prix",
        "prix unitaire",
        "precio",
        "precio unitario",
        "prezzo",
        "prijs",
        "preco",
    ),
    "unit_cost": (
        "unit cost",
        "cost price",
        "einkaufspreis",
        "ek",
        "prix d achat",
        "precio de coste",
        "costo unitario",
        "inkoopprijs",
    ),
    "created_at": (
        "created at",
        "created",
        "signup date",
        "signed up",
        "registered",
        "angelegt",
        "registriert",
        "date d inscription",
        "fecha de alta",
        "data registrazione",
    ),
    "segment": ("segment", "customer segment", "kundensegment", "segmento"),
    "country": ("country", "land", "pays", "pais", "paese"),
    "name": ("name", "product name", "title", "bezeichnung", "produktname", "nom", "nombre", "nome", "naam"),
    "category": ("category", "kategorie", "warengruppe", "categorie", "categoria", "type"),
    "amount": ("amount", "betrag", "montant", "importe", "importo", "bedrag", "valor", "value"),
    "date": ("date", "day", "datum", "tag", "jour", "fecha", "dia", "data", "giorno", "dag"),
    "spend": ("spend", "cost", "ad spend", "ausgaben", "kosten", "depenses", "gasto", "spesa", "uitgaven"),
    "sessions": (
        "sessions",
        "visits",
        "besuche",
        "sitzungen",
        "visites",
        "sesiones",
        "visitas",
        "sessioni",
        "bezoeken",
    ),
    "hours": ("hours", "stunden", "heures", "horas", "ore", "uren"),
    "employee_id": (
        "employee id",
        "employee",
        "mitarbeiter",
        "personalnummer",
        "employe",
        "empleado",
        "dipendente",
        "medewerker",
    ),
}


def normalise(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    plain = re.sub(r"([a-z])([A-Z])", r"\1 \2", plain).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


@functools.cache
def _words(field_name: str) -> tuple[frozenset[str], frozenset[str]]:
    words = frozenset({normalise(field_name.replace("_", " ")), *SYNONYMS.get(field_name, ())})
    return words, frozenset(w.replace(" ", "") for w in words)


@functools.cache
def _name_score(header: str, field_name: str) -> float:
    """How well a column header names a canonical field (0..1)."""
    h = normalise(header)
    words, joined = _words(field_name)
    if h in words or h.replace(" ", "") in joined:
        return 1.0
    matcher = difflib.SequenceMatcher(None, h)
    for w in words:
        matcher.set_seq1(w)
        if matcher.real_quick_ratio() >= 0.85 and matcher.quick_ratio() >= 0.85 and matcher.ratio() >= 0.85:
            return 0.8
    tokens = set(h.split())
    if any(len(w) > 3 and set(w.split()) <= tokens for w in words):
        return 0.6
    return 0.0


def _fits(field_type: FieldType, detected: DetectedType | None) -> float:
    """How well a column's values fit a field type (0..1; 0.5 when the column is empty)."""
    if detected is None or not detected.filled:
        return 0.5
    shares = detected.shares
    if field_type.is_temporal:
        return shares.get("date", 0.0)
    if field_type.is_numeric:
        return shares.get("number", 0.0)
    if field_type is FieldType.BOOLEAN:
        return max(shares.get("boolean", 0.0), shares.get("number", 0.0))
    return 1.0 - 0.7 * shares.get("date", 0.0)


def _value_score(field_values: tuple[str, ...], detected: DetectedType | None) -> float:
    """An enumerated field recognised from its values (e.g. status: placed, cancelled)."""
    if not field_values or detected is None or not detected.examples:
        return 0.0
    hits = sum(1 for v in detected.examples if v.strip().lower() in field_values)
    return 0.7 * hits / len(detected.examples)


@dataclass
class Mapping:
    """Which column goes to which field: ``columns`` maps a file column to a field or extra column name
    (``None``: not imported). ``confidence`` says how sure the proposal was (1.0 for a saved mapping)."""

    dataset_type: str | None
    columns: dict[str, str | None]
    confidence: dict[str, float] = field(default_factory=dict)
    decimal: str | None = None
    date_order: str | None = None

    def __post_init__(self) -> None:
        if self.dataset_type is not None and self.dataset_type not in CANONICAL:
            raise MappingError(f"unknown dataset type {self.dataset_type!r}; known: {', '.join(sorted(CANONICAL))}")
        if self.decimal not in (None, "point", "comma"):
            raise MappingError(f"decimal must be 'point' or 'comma', got {self.decimal!r}")
        if self.date_order not in (None, "dmy", "mdy"):
            raise MappingError(f"date_order must be 'dmy' or 'mdy', got {self.date_order!r}")
        targets = [t for t in self.columns.values() if t is not None]
        for target in targets:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", target):
                raise MappingError(f"column name {target!r} must be lower case letters, digits and _")
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            raise MappingError(f"more than one column is mapped to {', '.join(doubled)}")

    @property
    def canonical(self) -> DatasetType | None:
        return CANONICAL.get(self.dataset_type) if self.dataset_type else None

    def field_of(self, column: str) -> str | None:
        return self.columns.get(column)

    @property
    def missing(self) -> list[str]:
        """Required fields of the dataset type no column is mapped to."""
        ds = self.canonical
        mapped = set(self.columns.values())
        return [f.name for f in ds.required_fields if f.name not in mapped] if ds else []

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dataset_type": self.dataset_type, "columns": dict(self.columns)}
        if self.decimal:
            out["decimal"] = self.decimal
        if self.date_order:
            out["date_order"] = self.date_order
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "mapping") -> Mapping:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            raise MappingError(f"{where}: expected 'dataset_type' and a 'columns' table of file column -> field")
        unknown = set(data) - {"dataset_type", "columns", "decimal", "date_order"}
        if unknown:
            raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        columns = {str(k): (None if v is None else str(v)) for k, v in data["columns"].items()}
        try:
            return cls(
                data.get("dataset_type"),
                columns,
                dict.fromkeys(columns, 1.0),
                data.get("decimal"),
                data.get("date_order"),
            )
        except MappingError as exc:
            raise MappingError(f"{where}: {exc}") from exc

    @classmethod
    def from_yaml(cls, text: str, *, where: str = "mapping") -> Mapping:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MappingError(f"{where}: not valid YAML ({exc})") from exc
        return cls.from_dict(data, where=where)


def _assign(table: RawTable, ds: DatasetType) -> tuple[dict[str, str], dict[str, float], float]:
    """Greedy best assignment of columns to the fields of one dataset type, and its score."""
    candidates: list[tuple[float, str, str]] = []
    for column in table.columns:
        detected = table.types.get(column)
        for f in ds.fields:
            # The name decides; values that do not fit the field's type lower the score, so a
            # few bad values do not hide a well-named column, and a mistyped one is not taken.
            fit = _fits(f.type, detected)
            score = max(_name_score(column, f.name), _value_score(f.values, detected)) * (0.4 + 0.6 * fit)
            if normalise(column) == normalise(f.name.replace("_", " ")):
                score = max(score, 0.6)  # the field's own name is the user's intent, whatever the values
            if score >= 0.5:
                candidates.append((score, column, f.name))
    chosen: dict[str, str] = {}
    confidence: dict[str, float] = {}
    for score, column, name in sorted(candidates, key=lambda c: (-c[0], table.columns.index(c[1]))):
        if column in chosen or name in chosen.values():
            continue
        chosen[column] = name
        confidence[column] = round(score, 2)
    required = [f.name for f in ds.required_fields]
    covered = sum(confidence[c] for c, n in chosen.items() if n in required)
    optional = sum(confidence[c] for c, n in chosen.items() if n not in required)
    return chosen, confidence, covered / max(len(required), 1) + 0.01 * optional


def propose_mapping(table: RawTable, dataset_type: str | None = None) -> Mapping:
    """Propose a mapping; without ``dataset_type`` the best-covered canonical type is chosen (or none)."""
    if dataset_type is not None and dataset_type not in CANONICAL:
        raise MappingError(f"unknown dataset type {dataset_type!r}; known: {', '.join(sorted(CANONICAL))}")
    if dataset_type is None:
        scored = [(_assign(table, ds)[2], ds.name) for ds in CANONICAL.values()]
        score, best = max(scored)
        dataset_type = best if score >= 0.75 else None
    chosen: dict[str, str] = {}
    confidence: dict[str, float] = {}
    if dataset_type is not None:
        chosen, confidence, _ = _assign(table, CANONICAL[dataset_type])
    columns: dict[str, str | None] = {}
    # An extra column never takes a field's name: it would be validated as that field.
    taken = set(chosen.values()) | {f.name for f in (CANONICAL[dataset_type].fields if dataset_type else ())}
    for column in table.columns:
        if column in chosen:
            columns[column] = chosen[column]
            continue
        name, n = snake_name(column), 2
        while name in taken:
            name, n = f"{snake_name(column)}_{n}", n + 1
        taken.add(name)
        columns[column] = name
        confidence[column] = 0.0
    return Mapping(dataset_type, columns, confidence, table.decimal, table.date_order)
