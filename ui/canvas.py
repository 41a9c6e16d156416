"""The Draw page's drawing pad: a small Streamlit component (components v2, inline JS).

Why our own: streamlit-drawable-canvas (Fabric.js) waits 200 ms after the pen
lifts before it tells Streamlit, and that wait alone was two thirds of the time
from pen-up to reading. This pad sends the strokes the moment the pen lifts.
It also sends exactly what the pen did: each stroke as the points the pointer
passed through, in canvas pixels, which is what the reading pipeline wants.

``drawing_pad`` returns the strokes (a list of (N, 2) float arrays, [] when
empty), or None when the browser sent something that is not strokes.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_core.reading.preprocess import strokes_from_points

_HTML = """
<div class="pad">
  <canvas data-testid="drawing-pad" aria-label="Drawing pad: draw one digit here"></canvas>
  <div class="tools">
    <button type="button" data-action="undo" title="Undo the last stroke">Undo</button>
    <button type="button" data-action="redo" title="Redo">Redo</button>
    <button type="button" data-action="clear" title="Clear the pad">Clear</button>
  </div>
</div>
"""

_CSS = """
.pad { display: inline-flex; flex-direction: column; gap: 6px; max-width: 100%; }
canvas { touch-action: none; cursor: crosshair; max-width: 100%; border-radius: 6px;
         border: 1px solid rgba(128, 128, 128, 0.5); }
.tools { display: flex; gap: 6px; }
button { font: inherit; font-size: 0.85rem; padding: 2px 12px; border-radius: 6px; cursor: pointer;
         border: 1px solid rgba(128, 128, 128, 0.5); background: transparent; color: inherit; }
button:disabled { opacity: 0.4; cursor: default; }
"""

# One pad per mounted element; it keeps its strokes across Streamlit's reruns.
_JS = """
const PADS = new WeakMap();

function createPad(root) {
  const canvas = root.querySelector("canvas");
  const context = canvas.getContext("2d");
  const pad = { canvas, context, strokes: [], undone: [], current: null, style: {}, send: null };
  const buttons = Object.fromEntries(
    [...root.querySelectorAll("button")].map((button) => [button.dataset.action, button]));
  pad.showButtons = () => {
    buttons.undo.disabled = buttons.clear.disabled = pad.strokes.length === 0;
    buttons.redo.disabled = pad.undone.length === 0;
  };

  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    const scale = canvas.width / box.width;
    return [Math.round((event.clientX - box.left) * scale * 10) / 10,
            Math.round((event.clientY - box.top) * scale * 10) / 10];
  };
  const publish = () => {
    pad.showButtons();
    pad.send("strokes", pad.strokes.map((stroke) => stroke.slice()));
  };

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    canvas.setPointerCapture(event.pointerId);
    pad.current = [point(event)];
    pad.strokes.push(pad.current);
    render(pad);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!pad.current) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const each of (events.length ? events : [event])) pad.current.push(point(each));
    render(pad);
  });
  const finish = () => {
    if (!pad.current) return;
    pad.current = null;
    pad.undone = [];
    publish();  // at once: the reading should not wait
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);

  buttons.undo.addEventListener("click", () => {
    if (pad.strokes.length) { pad.undone.push(pad.strokes.pop()); render(pad); publish(); }
  });
  buttons.redo.addEventListener("click", () => {
    if (pad.undone.length) { pad.strokes.push(pad.undone.pop()); render(pad); publish(); }
  });
  buttons.clear.addEventListener("click", () => {
    if (pad.strokes.length) { pad.undone = []; pad.strokes = []; render(pad); publish(); }
  });
  return pad;
}

function render(pad) {
  const { canvas, context, style } = pad;
  context.fillStyle = style.paper;
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = context.fillStyle = style.ink;
  context.lineWidth = style.brush;
  context.lineCap = context.lineJoin = "round";
  for (const stroke of pad.strokes) {
    context.beginPath();
    if (stroke.length === 1) {
      context.arc(stroke[0][0], stroke[0][1], style.brush / 2, 0, 2 * Math.PI);
      context.fill();
      continue;
    }
    context.moveTo(stroke[0][0], stroke[0][1]);
    for (const [x, y] of stroke.slice(1)) context.lineTo(x, y);
    context.stroke();
  }
}

export default function ({ parentElement, data, setStateValue }) {
  const root = parentElement.querySelector(".pad");
  let pad = PADS.get(parentElement);
  if (!pad) {
    pad = createPad(root);
    pad.strokes = Array.isArray(data.strokes) ? data.strokes.map((stroke) => stroke.slice()) : [];
    PADS.set(parentElement, pad);
  }
  pad.send = setStateValue;
  if (pad.canvas.width !== data.size) pad.canvas.width = pad.canvas.height = data.size;
  pad.style = { ink: data.ink, paper: data.paper, brush: data.brush };
  render(pad);
  pad.showButtons();
}
"""

_PAD = st.components.v2.component("mnist_studio_drawing_pad", html=_HTML, css=_CSS, js=_JS)


def drawing_pad(*, size: int, brush: float, ink: str, paper: str, key: str) -> list[np.ndarray] | None:
    """Draw the pad (``size`` pixels square; ``ink`` on ``paper``, a ``brush`` wide) and
    return its strokes in canvas pixels: [] when it is empty, None when the value the
    browser sent is not a list of strokes. Changing the colours or the brush redraws
    the strokes; it does not clear them."""
    previous = st.session_state.get(key)  # the strokes last sent: a pad mounted again shows them
    kept = strokes_from_points(previous.get("strokes")) if hasattr(previous, "get") else None
    data = {"size": size, "brush": brush, "ink": ink, "paper": paper,
            "strokes": [stroke.tolist() for stroke in kept or []]}
    result = _PAD(key=key, data=data, default={"strokes": []}, on_strokes_change=lambda: None,
                  width="content", height="content")
    return strokes_from_points(result.get("strokes"))
