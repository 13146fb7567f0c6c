"""Draw a partitioned graph as SVG (or an HTML page holding it), in pure Python.

TensorRT segments are coloured boxes (collapsed to one box with their op summary by default; ``expand=True`` draws
their nodes inside, each labelled with the rule that made it); ops left to PyTorch are red boxes with the reason;
constants are not drawn. Layout: nodes sit in layers (networkx topological generations), ordered within a layer by
the mean position of their producers, top to bottom; an expanded segment is laid out the same way inside its box.

Elements carry classes and ids a tool (or a test) can find: ``g.segment#segment-NAME`` (``data-ops``,
``data-layers``), ``g.fallback#node-ID`` (``data-op``, ``data-reason``), ``g.trt-node`` (``data-rule``), ``g.io``,
``g.edge`` (``data-tensors``: how many tensors it carries; ``data-types``). Hovering shows a tooltip (``<title>``)
with the details; an edge carrying several tensors is labelled with their count and types. Lists of types are
wrapped and shortened between types, never inside one. The HTML page pans (drag) and zooms (wheel) the drawing.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from trt_passes.ir import Graph
from trt_passes.ir.aten import packet_name
from trt_passes.passes.report import CompileReport, Fallback, Partition
from trt_passes.tools.graph_page import html_page

SVG_NS = "http://www.w3.org/2000/svg"
PALETTE = ("#4e79a7", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2", "#edc948", "#9c755f", "#bab0ac")
FALLBACK_FILL, FALLBACK_STROKE = "#fde0dd", "#c51b29"
CHAR_W, LINE_H, PAD, H_GAP, V_GAP = 6.6, 14.0, 8.0, 18.0, 34.0
WRAP = 46


@dataclass
class Box:
    """One drawn thing: its text lines, style, the nodes inside it (expanded segments), and where it ends up."""

    key: int
    lines: list[str]
    kind: str  # "segment" | "fallback" | "trt-node" | "io" | "op"
    fill: str
    stroke: str
    tooltip: str
    data: dict[str, str] = field(default_factory=dict)
    inner: Layout | None = None
    x: float = 0.0
    y: float = 0.0

    @property
    def text_height(self) -> float:
        return len(self.lines) * LINE_H + PAD

    @property
    def width(self) -> float:
        text = max((len(s) for s in self.lines), default=4) * CHAR_W + 2 * PAD
        return max(text, self.inner.width + 2 * PAD) if self.inner else text

    @property
    def height(self) -> float:
        return self.text_height + (self.inner.height + PAD if self.inner else 0.0) + PAD / 2


@dataclass
class Layout:
    boxes: dict[int, Box]
    edges: list[tuple[int, int]]
    carried: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    """The types of the tensors each edge carries (one per distinct output of the producer the consumer reads)."""
    routes: list[list[tuple[float, float]]] = field(default_factory=list)
    """One polyline per edge (relative to the layout): out of the producer's bottom, through the free lanes of the
    layers it crosses, into the consumer's top."""
    width: float = 0.0
    height: float = 0.0


DUMMY_W = 10.0
MAX_LANE_SPAN = 80
"""Edges crossing more layers than this are drawn straight (a lane per crossed layer would widen huge graphs)."""


def layered_layout(boxes: dict[int, Box], edges: list[tuple[int, int]]) -> Layout:
    """Place ``boxes`` in topological layers and route ``edges``; sets each box's x, y (relative to the layout).

    An edge spanning several layers gets a narrow placeholder in each layer it crosses, so it runs in its own lane
    beside the boxes instead of through them; within a layer, items are ordered by the mean position of their
    neighbours (a downward, an upward and a downward sweep)."""
    g = nx.DiGraph()
    g.add_nodes_from(sorted(boxes))
    g.add_edges_from(edges)
    level = {n: i for i, layer in enumerate(nx.topological_generations(g)) for n in layer}
    depth = max(level.values(), default=-1) + 1
    items: list[list[Any]] = [[] for _ in range(depth)]
    for n in sorted(boxes):
        items[level[n]].append(n)
    chains: list[list[Any]] = []
    links = nx.DiGraph()
    links.add_nodes_from(boxes)
    for u, v in edges:
        chain: list[Any] = [u]
        span = level[v] - level[u]
        for lv in range(level[u] + 1, level[v]) if span <= MAX_LANE_SPAN else ():
            dummy = ("lane", u, v, lv)
            items[lv].append(dummy)
            chain.append(dummy)
        chain.append(v)
        nx.add_path(links, chain)
        chains.append(chain)
    order: dict[Any, float] = {}
    for layer in items:
        for j, n in enumerate(layer):
            order[n] = j

    def sweep(layers: list[list[Any]], neighbours: Any) -> None:
        for layer in layers:
            def centre(n: Any) -> float:
                near = [order[m] for m in neighbours(n)]
                return sum(near) / len(near) if near else order[n]

            layer.sort(key=lambda n: (centre(n), order[n]))
            for j, n in enumerate(layer):
                order[n] = j

    sweep(items, links.predecessors)
    sweep(items[::-1], links.successors)
    sweep(items, links.predecessors)

    def width(n: Any) -> float:
        return boxes[n].width if isinstance(n, int) else DUMMY_W

    widths = [sum(width(n) for n in layer) + H_GAP * (len(layer) - 1) for layer in items]
    total_w = max(widths, default=0.0)
    lanes: dict[Any, tuple[float, float, float]] = {}  # dummy -> (x centre, layer top, layer bottom)
    y = 0.0
    for layer, w in zip(items, widths):
        x = (total_w - w) / 2
        height = max((boxes[n].height for n in layer if isinstance(n, int)), default=0.0)
        for n in layer:
            if isinstance(n, int):
                boxes[n].x, boxes[n].y = x, y
            else:
                lanes[n] = (x + DUMMY_W / 2, y, y + height)
            x += width(n) + H_GAP
        y += height + V_GAP
    routes = []
    for chain in chains:
        a, b = boxes[chain[0]], boxes[chain[-1]]
        points = [(a.x + a.width / 2, a.y + a.height)]
        for dummy in chain[1:-1]:
            cx, top, bottom = lanes[dummy]
            points += [(cx, top), (cx, bottom)]
        points.append((b.x + b.width / 2, b.y))
        routes.append(points)
    return Layout(boxes, list(edges), {}, routes, total_w, max(y - V_GAP, 0.0))


def _wrap(text: str, width: int = WRAP, max_lines: int = 4) -> list[str]:
    """Prose wrapped at spaces; beyond ``max_lines`` the last line ends at a word with "…"."""
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        words = lines[-1].split(" ")
        while len(" ".join(words)) + 2 > width and len(words) > 1:
            words.pop()
        lines[-1] = " ".join(words) + " …"
    return lines


def wrap_items(prefix: str, items: list[str], width: int = WRAP, max_lines: int = 2) -> list[str]:
    """``prefix`` and ``items`` joined by ", ", broken into lines only between items (a type such as
    ``f32[1, 64, 56, 56]`` is never cut); items that do not fit in ``max_lines`` are counted: ``+3 more``."""
    lines: list[str] = []
    line, placed = prefix, False  # a line takes its first item whatever its length: an item is never cut
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if placed and len(line) + 1 + len(piece) > width:
            if len(lines) + 1 == max_lines:
                lines.append(f"{line} +{len(items) - i} more")
                return lines
            lines.append(line)
            line = "  " + piece
        else:
            line = f"{line} {piece}" if line.strip() else line + piece
        placed = True
    lines.append(line)
    return lines


def counted(types: list[str]) -> list[str]:
    """``["f32[4, 8]", "f32[4, 8]", "i64[4]"]`` as ``["f32[4, 8] x2", "i64[4]"]``."""
    return [t if n == 1 else f"{t} x{n}" for t, n in Counter(types).items()]


def _segment_box(nid: int, part: Partition | None, name: str, colour: str, body: Graph, expand: bool) -> Box:
    ops = part.ops if part else [n.op for n in body.all_nodes() if n.op not in ("input", "output", "constant")]
    layers = part.layers if part else None
    head = f"TensorRT {name}: {len(ops)} ops" + (f", {layers} layers" if layers is not None else "")
    counts = Counter(packet_name(op) for op in ops).most_common()
    summary = ", ".join(f"{op} x{n}" for op, n in counts)
    lines = [head]
    if not expand:
        lines += wrap_items("", [f"{op} x{n}" for op, n in counts], WRAP, 3)
        if part:
            lines += wrap_items("in:", counted(part.inputs), WRAP, 2) + wrap_items("out:", counted(part.outputs),
                                                                                  WRAP, 2)
    tooltip = "\n".join([head, summary] + ([f"inputs: {', '.join(part.inputs)}", f"outputs: {', '.join(part.outputs)}"]
                                           if part else []))
    box = Box(nid, lines, "segment", colour + "22", colour, tooltip,
              {"name": name, "ops": str(len(ops)), "layers": "" if layers is None else str(layers)})
    if expand:
        box.inner = _graph_layout(body, {}, {}, colour, expand=False, inside=True)
    return box


def _node_box(g: Graph, nid: int, fallback: Fallback | None, colour: str | None) -> Box:
    node = g.node(nid)
    src = node.provenance.source
    if node.op in ("input", "output"):
        label = node.name or ("output" if node.op == "output" else f"input {node.attrs.get('index', '')}")
        types = ", ".join(str(t) for t in node.outputs) if node.op == "input" else ""
        return Box(nid, [label] + ([types] if types else []), "io", "#eeeeee", "#777777", f"{node.op} {label} {types}")
    if fallback is not None:
        lines = [f"PyTorch: {packet_name(node.op)}"] + ([f"({src})"] if src else []) + _wrap(fallback.reason)
        tip = [f"%{nid} {node.op} ({src}) runs in PyTorch: {fallback.reason}"]
        tip += [f"rule {rule}: {why}" for rule, why in fallback.candidates]
        return Box(nid, lines, "fallback", FALLBACK_FILL, FALLBACK_STROKE, "\n".join(tip),
                   {"op": node.op, "reason": fallback.reason})
    rule = node.provenance.rule
    if colour is not None:  # a node inside an expanded TensorRT segment
        lines = [node.op.removeprefix("trt.")] + ([f"rule {rule}"] if rule else [])
        tip = f"%{nid} {node.op} by rule {rule} @ {node.provenance.location} (from {src})"
        return Box(nid, lines, "trt-node", "#ffffff", colour, tip, {"rule": rule or "", "op": node.op})
    return Box(nid, [packet_name(node.op)] + ([f"({src})"] if src else []), "op", "#ffffff", "#555555",
               f"%{nid} {node.op} ({src})", {"op": node.op})


def _graph_layout(g: Graph, partitions: dict[str, Partition], fallbacks: dict[int, Fallback], colour: str | None,
                  *, expand: bool, inside: bool = False) -> Layout:
    boxes: dict[int, Box] = {}
    k = 0
    for node in g.nodes():
        if node.op == "constant" or (inside and node.op in ("input", "output")):
            continue
        if node.op == "segment":
            name = node.attrs.get("name", f"segment{node.id}")
            boxes[node.id] = _segment_box(node.id, partitions.get(name), name, PALETTE[k % len(PALETTE)],
                                          node.attrs["body"], expand)
            k += 1
        else:
            boxes[node.id] = _node_box(g, node.id, fallbacks.get(node.id), colour)
    outputs: dict[tuple[int, int], set[int]] = {}
    for u, v, index in g.nx.edges(data="index"):
        if u in boxes and v in boxes:
            outputs.setdefault((u, v), set()).add(index)
    layout = layered_layout(boxes, sorted(outputs))
    layout.carried = {e: [str(g.node(e[0]).outputs[i]) for i in sorted(idx)] for e, idx in outputs.items()}
    return layout


# ---- SVG -----------------------------------------------------------------------------------------------------
def _curve(points: list[tuple[float, float]]) -> str:
    """A path through ``points``: vertical runs straight, each jump between them an S-shaped cubic."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        if abs(x1 - x0) < 0.5:
            d.append(f"L{x1:.1f},{y1:.1f}")
        else:
            dy = max((y1 - y0) / 2, 8.0)
            d.append(f"C{x0:.1f},{y0 + dy:.1f} {x1:.1f},{y1 - dy:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(d)


def _emit(parent: ET.Element, layout: Layout, ox: float, oy: float) -> None:
    edges = ET.SubElement(parent, "g", {"class": "edges"})
    for edge, points in zip(layout.edges, layout.routes):
        types = layout.carried.get(edge, [])
        group = ET.SubElement(edges, "g", {"class": "edge", "data-tensors": str(len(types)),
                                           "data-types": "; ".join(types)})
        ET.SubElement(group, "title").text = "\n".join(types)
        ET.SubElement(group, "path", {"d": _curve([(ox + x, oy + y) for x, y in points]), "fill": "none",
                                      "stroke": "#888888", "stroke-width": "1.2", "marker-end": "url(#arrow)"})
        if len(types) > 1:  # one tensor's type is the producer's; several need saying
            (x0, y0) = points[0]
            label = wrap_items(f"{len(types)} tensors:", counted(types), WRAP, 1)[0]
            ET.SubElement(group, "text", {"class": "edge-label", "x": f"{ox + x0 + 4:.1f}",
                                          "y": f"{oy + y0 + LINE_H * 0.9:.1f}", "fill": "#555555",
                                          "font-size": "10"}).text = label
    for box in layout.boxes.values():
        x, y = ox + box.x, oy + box.y
        attrs = {"class": box.kind}
        if box.kind == "segment":
            attrs["id"] = f"segment-{box.data['name']}"
        elif box.kind in ("fallback", "op", "io"):
            attrs["id"] = f"node-{box.key}"
        attrs.update({f"data-{k}": v for k, v in box.data.items()})
        group = ET.SubElement(parent, "g", attrs)
        ET.SubElement(group, "title").text = box.tooltip
        ET.SubElement(group, "rect", {"x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{box.width:.1f}",
                                      "height": f"{box.height:.1f}", "rx": "6" if box.kind != "io" else "14",
                                      "fill": box.fill, "stroke": box.stroke,
                                      "stroke-width": "2" if box.kind in ("segment", "fallback") else "1"})
        for i, line in enumerate(box.lines):
            weight = "bold" if i == 0 and box.kind in ("segment", "fallback") else "normal"
            ET.SubElement(group, "text", {"x": f"{x + PAD:.1f}", "y": f"{y + PAD + (i + 0.8) * LINE_H:.1f}",
                                          "font-weight": weight}).text = line
        if box.inner is not None:
            _emit(group, box.inner, x + PAD, y + box.text_height)


def render_svg(graph: Graph, report: CompileReport, *, expand: bool = False) -> str:
    """The SVG text for ``graph`` (after partitioning) annotated with ``report``."""
    partitions = {p.name: p for p in report.partitions}
    fallbacks = {f.node: f for f in report.fallbacks}
    layout = _graph_layout(graph, partitions, fallbacks, None, expand=expand)
    margin = 16.0
    legend_h = 2 * LINE_H
    share = f"{100 * report.converted_share:.1f}%" if report.ops_total else "-"
    legend = (f"{len(report.partitions)} TensorRT segment(s) (coloured), {len(report.fallbacks)} op(s) left to "
              f"PyTorch (red); {report.ops_converted} of {report.ops_total} ops ({share}) in TensorRT")
    width = max(layout.width, len(legend) * CHAR_W) + 2 * margin
    height = layout.height + 2 * margin + legend_h
    ET.register_namespace("", SVG_NS)
    svg = ET.Element("svg", {"xmlns": SVG_NS, "width": f"{width:.0f}", "height": f"{height:.0f}",
                             "viewBox": f"0 0 {width:.0f} {height:.0f}", "font-family": "monospace",
                             "font-size": "11"})
    defs = ET.SubElement(svg, "defs")
    marker = ET.SubElement(defs, "marker", {"id": "arrow", "viewBox": "0 0 10 10", "refX": "10", "refY": "5",
                                            "markerWidth": "6", "markerHeight": "6", "orient": "auto"})
    ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "fill": "#888888"})
    ET.SubElement(svg, "text", {"x": f"{margin}", "y": f"{margin + LINE_H * 0.8:.1f}", "class": "legend"}).text = \
        legend
    _emit(svg, layout, margin + (width - 2 * margin - layout.width) / 2, margin + legend_h)
    return ET.tostring(svg, encoding="unicode")


def write_graph(path: str | Path, graph: Graph, report: CompileReport, *, expand: bool = False) -> Path:
    """Write the drawing to ``path``: ``.svg`` as is, ``.html`` as a page holding the SVG, which pans and zooms."""
    path = Path(path)
    svg = render_svg(graph, report, expand=expand)
    if path.suffix.lower() in (".html", ".htm"):
        text = html_page(svg)
    elif path.suffix.lower() == ".svg":
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"
    else:
        raise ValueError(f"--graph writes .svg or .html, not {path.suffix or 'a file without suffix'}: {path}")
    path.write_text(text, encoding="utf-8")
    return path
