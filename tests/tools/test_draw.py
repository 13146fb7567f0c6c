"""The partitioned graph drawn as SVG: every segment and every op left to PyTorch is in the picture."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
import torchvision
from hypothesis import given
from hypothesis import strategies as st

from tests.models_for_tests import unsupported
from trt_passes.tools.cli import main
from trt_passes.tools.draw import wrap_items, write_graph
from trt_passes.tools.explain_graph import explain_with_graph
from trt_passes.tools.graph_page import PAN_ZOOM_SCRIPT

NS = {"svg": "http://www.w3.org/2000/svg"}
MODELS = str(Path(__file__).parent.parent / "models_for_tests.py")


@pytest.fixture(scope="module")
def resnet18():
    """resnet18 with its additions forced to PyTorch: 9 segments, ops merged back for min_block_size, fallbacks."""
    model = torchvision.models.resnet18(weights=None).eval()
    return explain_with_graph(model, [torch.randn(1, 3, 32, 32)], torch_executed_ops=["aten.add.Tensor"])


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{{{NS['svg']}}}g") if g.get("class") == cls]


def text_of(g: ET.Element) -> str:
    return " ".join(t.text or "" for t in g.iter(f"{{{NS['svg']}}}text"))


def test_resnet18_svg_holds_every_segment_and_every_fallback_with_its_reason(resnet18, tmp_path):
    report, graph = resnet18
    assert len(report.partitions) >= 2 and len(report.fallbacks) >= 10
    root = ET.parse(write_graph(tmp_path / "resnet18.svg", graph, report)).getroot()
    assert root.tag == f"{{{NS['svg']}}}svg" and float(root.get("width")) > 0
    segments = {g.get("data-name"): g for g in groups(root, "segment")}
    assert set(segments) == {p.name for p in report.partitions}
    for part in report.partitions:
        assert segments[part.name].get("data-ops") == str(len(part.ops))
        assert f"TensorRT {part.name}: {len(part.ops)} ops" in text_of(segments[part.name])
    fallbacks = {int(g.get("id").removeprefix("node-")): g for g in groups(root, "fallback")}
    assert set(fallbacks) == {f.node for f in report.fallbacks}
    for f in report.fallbacks:
        assert fallbacks[f.node].get("data-op") == f.op and fallbacks[f.node].get("data-reason") == f.reason
    assert groups(root, "trt-node") == []  # collapsed by default: one box per segment
    edges = list(root.iter(f"{{{NS['svg']}}}path"))
    assert len(edges) > len(report.partitions) + len(report.fallbacks)


def test_expand_draws_each_tensorrt_node_labelled_with_its_rule(resnet18, tmp_path):
    report, graph = resnet18
    root = ET.parse(write_graph(tmp_path / "expanded.svg", graph, report, expand=True)).getroot()
    segments = {g.get("data-name"): g for g in groups(root, "segment")}
    assert set(segments) == {p.name for p in report.partitions}
    bodies = {n.attrs["name"]: n.attrs["body"] for n in graph.all_nodes() if n.op == "segment"}
    for name, body in bodies.items():
        inner = groups(segments[name], "trt-node")
        ops = [n for n in body.all_nodes() if n.op.startswith("trt.")]
        assert len(inner) == len(ops)
        assert sorted(g.get("data-rule") for g in inner) == sorted(n.provenance.rule for n in ops)
        assert all(g.get("data-rule") and f"rule {g.get('data-rule')}" in text_of(g) for g in inner)


def test_html_wraps_the_svg_and_other_suffixes_are_refused(tmp_path):
    report, graph = explain_with_graph(unsupported(), [torch.randn(4, 8)], min_block_size=1)
    text = write_graph(tmp_path / "g.html", graph, report).read_text()
    assert text.startswith("<!DOCTYPE html>")
    svg = ET.fromstring(text[text.index("<svg"): text.index("</svg>") + len("</svg>")])
    assert len(groups(svg, "segment")) == 2 and len(groups(svg, "fallback")) == 1
    with pytest.raises(ValueError, match=r"\.svg or \.html"):
        write_graph(tmp_path / "g.png", graph, report)


def test_the_cli_draws_with_graph_and_expand(capsys, tmp_path):
    out = tmp_path / "u.svg"
    code = main(["explain", f"{MODELS}:unsupported", "--input", "4x8", "--min-block-size", "1", "--quiet",
                 "--graph", str(out), "--expand"])
    assert code == 0 and str(out) in capsys.readouterr().err
    root = ET.parse(out).getroot()
    assert [g.get("data-op") for g in groups(root, "fallback")] == ["aten.i0.default"]
    assert {g.get("data-rule") for g in groups(root, "trt-node")} >= {"matmul_same_rank", "relu"}


class TwoOutputs(torch.nn.Module):
    """Two tensors from one TensorRT segment meet in a maximum that torch_executed_ops keeps in PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = torch.nn.Linear(8, 8), torch.nn.Linear(8, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.a(x))
        return torch.maximum(h, torch.tanh(self.b(h)).sum(dim=-1, keepdim=True))


def test_an_edge_carrying_several_tensors_is_labelled_with_their_count_and_types(tmp_path):
    report, graph = explain_with_graph(TwoOutputs().eval(), [torch.randn(4, 8)], min_block_size=1,
                                       torch_executed_ops=[torch.ops.aten.maximum.default])
    root = ET.parse(write_graph(tmp_path / "two.svg", graph, report)).getroot()
    edges = groups(root, "edge")
    several = [g for g in edges if int(g.get("data-tensors")) > 1]
    assert len(several) == 1 and several[0].get("data-types") == "f32[4, 8]; f32[4, 1]"
    (label,) = [t.text for t in several[0].iter(f"{{{NS['svg']}}}text")]
    assert label == "2 tensors: f32[4, 8], f32[4, 1]"
    assert all(g.get("data-tensors") == "1" and not list(g.iter(f"{{{NS['svg']}}}text"))
               for g in edges if g is not several[0])  # one tensor: its type is in the tooltip only
    assert all(g.find("svg:title", NS).text == g.get("data-types").replace("; ", "\n") for g in edges)


types = st.builds(lambda d, dims: f"{d}[{', '.join(map(str, dims))}]", st.sampled_from(["f32", "i64", "bf16"]),
                  st.lists(st.integers(1, 4096), min_size=0, max_size=5))


@given(items=st.lists(types, min_size=1, max_size=12), width=st.integers(20, 60), max_lines=st.integers(1, 4))
def test_wrapped_type_lists_break_between_types_and_count_what_does_not_fit(items, width, max_lines):
    lines = wrap_items("in:", items, width, max_lines)
    assert 1 <= len(lines) <= max_lines and lines[0].startswith("in:")
    text = " ".join(line.strip() for line in lines).removeprefix("in:").strip()
    more = 0
    if text.endswith(" more"):
        text, more = text.rsplit(" +", 1)[0], int(text.rsplit(" +", 1)[1].removesuffix(" more"))
    shown = [t.strip() for t in text.split(",") if t.strip()]
    # a type contains ", " itself: rejoin the pieces of each type and compare with the items in order
    assert ", ".join(items[: len(items) - more]) == ", ".join(shown)
    assert more == 0 or len(lines) == max_lines


def test_the_html_page_fills_the_window_and_carries_the_pan_and_zoom_script(tmp_path):
    report, graph = explain_with_graph(unsupported(), [torch.randn(4, 8)], min_block_size=1)
    text = write_graph(tmp_path / "g.html", graph, report).read_text()
    svg = ET.fromstring(text[text.index("<svg"): text.index("</svg>") + len("</svg>")])
    assert svg.get("id") == "graph" and svg.get("width") == "100%" and svg.get("viewBox")
    assert PAN_ZOOM_SCRIPT in text and "<script src" not in text  # inline, nothing fetched


# A stand-in for the browser: the SVG element's viewBox, a 400x200 px client rectangle at (10, 20), and the listeners
# the script adds, which the test then calls with events. Prints the viewBox after each step.
FAKE_DOM = """
const listeners = {};
let viewBox = "0 0 800 400";
const svg = {
  getAttribute: (n) => viewBox, setAttribute: (n, v) => { viewBox = v; },
  getBoundingClientRect: () => ({ left: 10, top: 20, width: 400, height: 200 }),
  addEventListener: (type, fn) => { listeners[type] = fn; },
};
globalThis.document = { getElementById: () => svg };
SCRIPT
const steps = [];
const fire = (type, e) => { listeners[type]({ preventDefault() {}, ...e }); steps.push(viewBox); };
fire("wheel", { deltaY: -1, clientX: 110, clientY: 70 });   // zoom in around drawing point (200, 100)
fire("pointerdown", { clientX: 50, clientY: 50 });
fire("pointermove", { clientX: 60, clientY: 45 });           // drag 10 px right, 5 px up
fire("pointerup", {});
fire("pointermove", { clientX: 90, clientY: 90 });           // no button: nothing moves
fire("dblclick", {});
console.log(JSON.stringify(steps));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_the_page_zooms_around_the_pointer_pans_with_a_drag_and_resets_on_double_click():
    js = FAKE_DOM.replace("SCRIPT", PAN_ZOOM_SCRIPT)
    out = subprocess.run(["node", "-e", js], capture_output=True, text=True, timeout=60, check=True).stdout
    steps = [[float(v) for v in step.split()] for step in json.loads(out)]
    zoom = [200 - 200 / 1.2, 100 - 100 / 1.2, 800 / 1.2, 400 / 1.2]  # (200, 100) stays under the pointer
    unit = zoom[2] / 400  # drawing units per pixel after zooming in
    drag = [zoom[0] - 10 * unit, zoom[1] + 5 * unit, zoom[2], zoom[3]]
    expected = [zoom, zoom, drag, drag, drag, [0, 0, 800, 400]]
    assert [[round(v, 2) for v in step] for step in steps] == [[round(v, 2) for v in e] for e in expected]
