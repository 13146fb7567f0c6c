"""The HTML page ``--graph FILE.html`` writes: the partition drawing across the window, panned by dragging and zoomed
with the wheel around the pointer (double-click shows it all again), by a few lines of script moving the SVG's
``viewBox``; no library, nothing fetched."""

from __future__ import annotations

import xml.etree.ElementTree as ET

PAN_ZOOM_SCRIPT = """
(function () {
  // Pan (drag) and zoom (wheel, around the pointer) by moving the SVG's viewBox; double-click shows it all.
  const svg = document.getElementById("graph");
  const whole = svg.getAttribute("viewBox").split(" ").map(Number);
  let box = whole.slice(), drag = null;
  const show = () => svg.setAttribute("viewBox", box.map((v) => v.toFixed(2)).join(" "));
  // Drawing units per screen pixel ("xMinYMin meet": the larger ratio, the drawing's corner at the element's).
  const unit = () => { const r = svg.getBoundingClientRect(); return Math.max(box[2] / r.width, box[3] / r.height); };
  const at = (e) => { const r = svg.getBoundingClientRect(), u = unit();
                      return [box[0] + (e.clientX - r.left) * u, box[1] + (e.clientY - r.top) * u]; };
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [px, py] = at(e), f = e.deltaY < 0 ? 1 / 1.2 : 1.2;
    box = [px - (px - box[0]) * f, py - (py - box[1]) * f, box[2] * f, box[3] * f];
    show();
  }, { passive: false });
  svg.addEventListener("pointerdown", (e) => { drag = [e.clientX, e.clientY, box.slice(), unit()]; });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const [x0, y0, start, u] = drag;
    box = [start[0] - (e.clientX - x0) * u, start[1] - (e.clientY - y0) * u, start[2], start[3]];
    show();
  });
  for (const end of ["pointerup", "pointerleave"]) svg.addEventListener(end, () => { drag = null; });
  svg.addEventListener("dblclick", () => { box = whole.slice(); show(); });
})();
"""


def html_page(svg: str) -> str:
    """A page showing ``svg`` across the window, with :data:`PAN_ZOOM_SCRIPT`."""
    root = ET.fromstring(svg)
    root.set("id", "graph")
    root.set("width", "100%")
    root.set("height", "100%")
    root.set("preserveAspectRatio", "xMinYMin meet")
    root.set("style", "cursor: grab; touch-action: none")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>trt-passes partition</title></head>\n"
            "<body style=\"margin:0; height:100vh; overflow:hidden\">\n"
            "<div style=\"position:fixed; right:8px; bottom:6px; font:11px monospace; color:#777\">"
            "wheel: zoom, drag: pan, double-click: all</div>\n"
            + ET.tostring(root, encoding="unicode") + "\n<script>" + PAN_ZOOM_SCRIPT + "</script>\n</body></html>\n")
