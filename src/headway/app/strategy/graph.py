"""The strategy map: objectives and KPIs from the company down to departments, drawn as SVG on the server.

Two bands top to bottom: company, then departments. In each, every objective is a block: its box
with the KPIs that measure it stacked under it (a KPI on several objectives sits in the first and
is linked to the others). Blocks wrap after ``columns``, so a narrow version (two columns) stays
readable on a phone; the page shows the wide or narrow drawing by screen width and a list says the
same in text. Relationships between KPIs and "serves" links between objectives are arrows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BOX_W, BOX_H, GAP_X, GAP_Y, PAD, LAYER_GAP = 200, 54, 28, 26, 16, 36
KPI_H, KPI_GAP, INDENT = 46, 8, 16
COLOURS = {
    "good": ("#e6f4ea", "#1a7f37"),
    "warning": ("#fff8e1", "#9a6700"),
    "bad": ("#fdecea", "#cf222e"),
    "none": ("#f6f8fa", "#8c959f"),
}
EDGE_STYLE = {
    "measures": ("#8c959f", ""),
    "serves": ("#57606a", ""),
    "contributes_to": ("#0a58ca", ""),
    "drives": ("#8250df", "6 4"),
    "guardrail_for": ("#bf3989", "2 4"),
}
LAYER_TITLES = ("Company objectives", "Company KPIs", "Department objectives", "Department KPIs")
BAND_TITLES = ("Company", "Departments")


@dataclass
class MapNode:
    key: str
    kind: str
    """objective / kpi"""
    label: str
    detail: str
    tone: str
    href: str
    layer: int
    status: str = ""
    group: str = ""
    """For a KPI: the key of the objective whose block it sits in ('' when it only appears in relationships)."""


@dataclass
class MapEdge:
    source: str
    target: str
    kind: str


@dataclass
class StrategyMap:
    nodes: list[MapNode] = field(default_factory=list)
    edges: list[MapEdge] = field(default_factory=list)

    def placed_in(self, key: str) -> str:
        return next((n.group for n in self.nodes if n.key == key), "")

    def by_layer(self) -> list[list[MapNode]]:
        layers: dict[int, list[MapNode]] = defaultdict(list)
        for n in self.nodes:
            layers[n.layer].append(n)
        return [layers[i] for i in sorted(layers)]


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _box(node: MapNode, x: float, top: float, width: float, height: float) -> str:
    fill, stroke = COLOURS.get(node.tone, COLOURS["none"])
    objective = node.kind == "objective"
    chars = int(width // 8.3)  # what fits at the label's font size
    label, detail = escape(_clip(node.label, chars)), escape(_clip(node.detail, chars + 4))
    return (
        f'<a href="{escape(node.href)}" class="node {node.kind}" data-key="{escape(node.key)}"'
        f' data-tone="{node.tone}" data-status="{escape(node.status)}">'
        f"<title>{escape(node.label)} — {escape(node.detail)}</title>"
        f'<rect x="{x:.0f}" y="{top:.0f}" width="{width:.0f}" height="{height}" rx="{10 if objective else 3}"'
        f' fill="{fill}" stroke="{stroke}" stroke-width="{2 if objective else 1.5}"/>'
        f'<text x="{x + 10:.0f}" y="{top + height / 2 - 3:.0f}" class="label">{label}</text>'
        f'<text x="{x + 10:.0f}" y="{top + height / 2 + 14:.0f}" class="detail">{detail}</text>'
        "</a>"
    )


def render_svg(graph: StrategyMap, columns: int) -> SafeString:
    """The map as an SVG of ``columns`` objective blocks per row; boxes link to their pages."""
    width = PAD * 2 + columns * BOX_W + (columns - 1) * GAP_X
    positions: dict[str, tuple[float, float, float, float]] = {}
    """key -> x, y, width, height of its box"""
    parts: list[str] = []
    y = PAD
    for band, (objective_layer, kpi_layer) in enumerate(((0, 1), (2, 3))):
        objectives = [n for n in graph.nodes if n.layer == objective_layer]
        loose = [n for n in graph.nodes if n.layer == kpi_layer and not n.group]
        blocks: list[tuple[MapNode | None, list[MapNode]]] = [
            (o, [n for n in graph.nodes if n.kind == "kpi" and n.group == o.key]) for o in objectives
        ]
        if loose:
            blocks.append((None, loose))
        if not blocks:
            continue
        parts.append(f'<text x="{PAD}" y="{y + 12}" class="layer">{BAND_TITLES[band]}</text>')
        y += 22
        for start in range(0, len(blocks), columns):
            row = blocks[start : start + columns]
            offset = (width - (len(row) * BOX_W + (len(row) - 1) * GAP_X)) / 2
            tallest = 0.0
            for col, (objective, kpis) in enumerate(row):
                x = offset + col * (BOX_W + GAP_X)
                top = y
                if objective is not None:
                    positions[objective.key] = (x, top, BOX_W, BOX_H)
                    parts.append(_box(objective, x, top, BOX_W, BOX_H))
                    top += BOX_H + KPI_GAP
                for k in kpis:
                    positions[k.key] = (x + INDENT, top, BOX_W - INDENT, KPI_H)
                    if objective is not None:  # the tree's elbow from the objective to its KPI
                        parts.append(
                            f'<path d="M{x + INDENT / 2:.0f} {top - KPI_GAP:.0f}V{top + KPI_H / 2:.0f}'
                            f'H{x + INDENT:.0f}" fill="none" stroke="#8c959f" class="edge measures"/>'
                        )
                    parts.append(_box(k, x + INDENT, top, BOX_W - INDENT, KPI_H))
                    top += KPI_H + KPI_GAP
                tallest = max(tallest, top - y)
            y += tallest + GAP_Y
        y += LAYER_GAP - GAP_Y
    edges = []
    for e in graph.edges:
        if e.source not in positions or e.target not in positions:
            continue
        if e.kind == "measures" and graph.placed_in(e.target) == e.source:
            continue  # drawn as the block's elbow
        (sx, sy, sw, sh), (tx, ty, tw, th) = positions[e.source], positions[e.target]
        colour, dash = EDGE_STYLE[e.kind]
        # From the side of one box that faces the other (left/right when side by side, else bottom/top).
        if abs(sy - ty) < BOX_H and abs(sx - tx) > 1:
            left = sx < tx
            x1, y1 = (sx + sw, sy + sh / 2) if left else (sx, sy + sh / 2)
            x2, y2 = (tx, ty + th / 2) if left else (tx + tw, ty + th / 2)
        elif sy < ty:
            x1, y1, x2, y2 = sx + sw / 2, sy + sh, tx + tw / 2, ty
        else:
            x1, y1, x2, y2 = sx + sw / 2, sy, tx + tw / 2, ty + th
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        edges.append(
            f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{colour}" stroke-width="1.5"'
            f'{dash_attr} marker-end="url(#arrow)" class="edge {e.kind}"/>'
        )
    height = y + PAD
    return mark_safe(
        f'<svg class="strategy-map cols-{columns}" viewBox="0 0 {width} {height:.0f}" width="100%"'
        f' role="img" aria-label="Strategy map: objectives and KPIs coloured by goal status (listed below as text)">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
        ' orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#57606a"/></marker></defs>'
        "<style>.label{font:600 13px system-ui,sans-serif;fill:#1f2328}.detail{font:12px system-ui,sans-serif;"
        "fill:#57606a}.layer{font:600 12px system-ui,sans-serif;fill:#57606a;text-transform:uppercase}</style>"
        + "".join(parts)
        + "".join(edges)
        + "</svg>"
    )
