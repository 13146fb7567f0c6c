"""The partitioned graph drawn as SVG: every segment and every op left to PyTorch is in the picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
import torchvision

from tests.models_for_tests import unsupported
from trt_passes.tools.cli import main
from trt_passes.tools.draw import write_graph
from trt_passes.tools.explain_graph import explain_with_graph

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
