"""The strategy map: objectives and KPIs from the company down to departments, drawn as SVG on the server.

Layers top to bottom: company objectives, their KPIs, department objectives, their KPIs (and KPIs
that only appear in relationships). Rows wrap after ``columns`` boxes, so a narrow version (two
columns) stays readable on a phone; the page shows the wide or narrow drawing by screen width and
a nested list says the same in text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BOX_W, BOX_H, GAP_X, GAP_Y, PAD, LAYER_GAP = 200, 54, 28, 26, 16, 36
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


@dataclass
class MapEdge:
    source: str
    target: str
    kind: str


@dataclass
class StrategyMap:
    nodes: list[MapNode] = field(default_factory=list)
    edges: list[MapEdge] = field(default_factory=list)

    def by_layer(self) -> list[list[MapNode]]:
        layers: dict[int, list[MapNode]] = defaultdict(list)
        for n in self.nodes:
            layers[n.layer].append(n)
        return [layers[i] for i in sorted(layers)]


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def render_svg(graph: StrategyMap, columns: int) -> SafeString:
    """The map as an SVG of ``columns`` boxes per row; boxes link to their pages."""
    width = PAD * 2 + columns * BOX_W + (columns - 1) * GAP_X
    positions: dict[str, tuple[float, float]] = {}
    parts: list[str] = []
    y = PAD
    for layer in graph.by_layer():
        title = LAYER_TITLES[min(layer[0].layer, len(LAYER_TITLES) - 1)]
        parts.append(f'<text x="{PAD}" y="{y + 12}" class="layer">{escape(title)}</text>')
        y += 20
        for i, node in enumerate(layer):
            row, col = divmod(i, columns)
            in_row = min(columns, len(layer) - row * columns)
            offset = (width - (in_row * BOX_W + (in_row - 1) * GAP_X)) / 2
            x = offset + col * (BOX_W + GAP_X)
            top = y + row * (BOX_H + GAP_Y)
            positions[node.key] = (x, top)
            fill, stroke = COLOURS.get(node.tone, COLOURS["none"])
            radius = 10 if node.kind == "objective" else 3
            parts.append(
                f'<a href="{escape(node.href)}" class="node {node.kind}" data-key="{escape(node.key)}"'
                f' data-tone="{node.tone}" data-status="{escape(node.status)}">'
                f"<title>{escape(node.label)} — {escape(node.detail)}</title>"
                f'<rect x="{x:.0f}" y="{top:.0f}" width="{BOX_W}" height="{BOX_H}" rx="{radius}" fill="{fill}"'
                f' stroke="{stroke}" stroke-width="{2 if node.kind == "objective" else 1.5}"/>'
                f'<text x="{x + 10:.0f}" y="{top + 22:.0f}" class="label">{escape(_clip(node.label, 26))}</text>'
                f'<text x="{x + 10:.0f}" y="{top + 40:.0f}" class="detail">{escape(_clip(node.detail, 30))}</text></a>'
            )
        rows = (len(layer) + columns - 1) // columns
        y += rows * (BOX_H + GAP_Y) + LAYER_GAP - GAP_Y
    edges = []
    for e in graph.edges:
        if e.source not in positions or e.target not in positions:
            continue
        (sx, sy), (tx, ty) = positions[e.source], positions[e.target]
        colour, dash = EDGE_STYLE[e.kind]
        # From the bottom of the upper box to the top of the lower one (side by side: centre to centre).
        if abs(sy - ty) < 1:
            x1, y1, x2, y2 = sx + BOX_W / 2, sy + BOX_H / 2, tx + BOX_W / 2, ty + BOX_H / 2
        elif sy < ty:
            x1, y1, x2, y2 = sx + BOX_W / 2, sy + BOX_H, tx + BOX_W / 2, ty
        else:
            x1, y1, x2, y2 = sx + BOX_W / 2, sy, tx + BOX_W / 2, ty + BOX_H
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
        + "".join(edges)
        + "".join(parts)
        + "</svg>"
    )
