// The image tab: open or drop an image, prompt it with clicks (left:
// positive, right or shift-click: negative) and boxes (drag), see the best
// mask after each prompt and pick another candidate, undo, clear, "segment
// everything", and download the masks as COCO JSON or PNG.
//
// State lives in this module: the session the server keeps for the image,
// the prompts so far (every request resends them all, so undo is a resend),
// and the last answer's masks. Test hooks: #image-mask's pixels are the
// shown mask(s) (alpha 255 inside), its data-segments counts answered
// requests; #image-marks' data-point and data-box hold the last click and
// box in image pixels.

import {call, upload} from "./api.js";
import {colour, cocoJson, decodeRle, downloadJson, downloadPng, paint} from "./masks.js";

// Pointer movement (CSS pixels) that turns a click into a box drag.
const DRAG_THRESHOLD = 5;

export function setupImage(ui, showError, setStatus) {
  const state = {
    session: null, file: null, width: 0, height: 0,
    prompts: [],          // {kind: "point", x, y, label} | {kind: "box", box}
    candidates: [],       // [{mask, rle, score}] of the last segment call
    selected: 0,
    everything: null,     // automatic masks: [{mask, rle, record}]
    segments: 0,
  };

  const base = ui.querySelector("#image-base");
  const maskCanvas = ui.querySelector("#image-mask");
  const marks = ui.querySelector("#image-marks");
  const candidateList = ui.querySelector("#image-candidates");
  const stage = ui.querySelector("#image-stage");

  function toImage(event) {
    const rect = marks.getBoundingClientRect();
    return {
      x: Math.min(state.width - 1, Math.max(0, (event.clientX - rect.left) * state.width / rect.width)),
      y: Math.min(state.height - 1, Math.max(0, (event.clientY - rect.top) * state.height / rect.height)),
    };
  }

  function drawMarks(dragBox = null) {
    const ctx = marks.getContext("2d");
    ctx.clearRect(0, 0, marks.width, marks.height);
    const r = Math.max(3, state.width / 150);
    ctx.lineWidth = Math.max(1, state.width / 400);
    for (const p of state.prompts) {
      if (p.kind === "point") {
        ctx.beginPath();
        ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
        ctx.fillStyle = p.label === 1 ? "#2ecc40" : "#ff4136";
        ctx.fill();
        ctx.strokeStyle = "white";
        ctx.stroke();
      } else {
        ctx.strokeStyle = "#ffdc00";
        const [x0, y0, x1, y1] = p.box;
        ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      }
    }
    if (dragBox) {
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = "#ffdc00";
      const [x0, y0, x1, y1] = dragBox;
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.setLineDash([]);
    }
  }

  function drawMasks() {
    if (state.everything) {
      paint(maskCanvas, state.everything.map((m, i) => ({mask: m.mask, rgb: colour(i)})));
    } else if (state.candidates.length) {
      paint(maskCanvas, [{mask: state.candidates[state.selected].mask, rgb: [30, 144, 255]}]);
    } else {
      paint(maskCanvas, []);
    }
    candidateList.replaceChildren(...state.candidates.map((c, i) => {
      const button = document.createElement("button");
      button.textContent = `mask ${i + 1} (IoU ${c.score.toFixed(3)})`;
      button.className = i === state.selected ? "selected" : "";
      button.dataset.index = i;
      button.addEventListener("click", () => {
        state.selected = i;
        drawMasks();
      });
      return button;
    }));
    maskCanvas.dataset.segments = String(state.segments);
  }

  async function open(file) {
    showError(null);
    setStatus(`uploading ${file.name}…`);
    if (state.session) {
      call("/api/v1/session/delete", {session: state.session}).catch(() => {});
      state.session = null;
    }
    try {
      // The server first: it says what is wrong with a bad file.
      const created = await upload("/api/v1/image/create", file, file.type || "image/png");
      const bitmap = await createImageBitmap(file);
      Object.assign(state, {
        session: created.session, file, width: created.width, height: created.height,
        prompts: [], candidates: [], selected: 0, everything: null, segments: 0,
      });
      for (const c of [base, maskCanvas, marks]) {
        c.width = created.width;
        c.height = created.height;
      }
      base.getContext("2d").drawImage(bitmap, 0, 0, created.width, created.height);
      stage.hidden = false;
      ui.dataset.session = created.session;
      drawMarks();
      drawMasks();
      setStatus(`${file.name}: ${created.width}×${created.height}; click to segment`);
    } catch (e) {
      showError(e);
      setStatus("");
    }
  }

  // One segment call at a time (a second one on the session would be
  // refused as busy); prompts added meanwhile are sent by one more call.
  let running = null;
  let again = false;
  async function segment() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await segmentOnce();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  }

  async function segmentOnce() {
    state.everything = null;
    if (!state.prompts.length) {
      state.candidates = [];
      drawMasks();
      return;
    }
    const points = state.prompts.filter((p) => p.kind === "point");
    const boxes = state.prompts.filter((p) => p.kind === "box");
    const body = {session: state.session, multimask_output: state.prompts.length === 1};
    if (points.length) {
      body.points = points.map((p) => [p.x, p.y]);
      body.point_labels = points.map((p) => p.label);
    }
    // The last box drawn (one prompt set: a box with the clicks).
    if (boxes.length) body.boxes = [boxes[boxes.length - 1].box];
    try {
      setStatus("segmenting…");
      const result = await call("/api/v1/image/segment", body);
      const prompt = result.prompts[0];
      state.candidates = prompt.masks.map((rle, i) => ({rle, mask: decodeRle(rle), score: prompt.scores[i]}));
      state.selected = prompt.scores.indexOf(Math.max(...prompt.scores));
      state.segments++;
      drawMasks();
      setStatus(`${state.candidates.length} candidate mask(s); best IoU ${prompt.scores[state.selected].toFixed(3)}`);
    } catch (e) {
      showError(e);
      setStatus("");
    }
  }

  function addPrompt(prompt) {
    if (!state.session) return;
    showError(null);
    state.prompts.push(prompt);
    if (prompt.kind === "point") marks.dataset.point = JSON.stringify([prompt.x, prompt.y, prompt.label]);
    if (prompt.kind === "box") marks.dataset.box = JSON.stringify(prompt.box);
    drawMarks();
    segment();
  }

  let down = null;
  marks.addEventListener("contextmenu", (e) => e.preventDefault());
  marks.addEventListener("pointerdown", (e) => {
    if (!state.session) return;
    e.preventDefault();
    down = {event: e, at: toImage(e), label: e.button === 2 || e.shiftKey ? 0 : 1};
  });
  marks.addEventListener("pointermove", (e) => {
    if (!down) return;
    const moved = Math.hypot(e.clientX - down.event.clientX, e.clientY - down.event.clientY);
    if (moved >= DRAG_THRESHOLD) {
      const p = toImage(e);
      drawMarks([Math.min(down.at.x, p.x), Math.min(down.at.y, p.y), Math.max(down.at.x, p.x), Math.max(down.at.y, p.y)]);
    }
  });
  marks.addEventListener("pointerup", (e) => {
    if (!down) return;
    const start = down;
    down = null;
    const moved = Math.hypot(e.clientX - start.event.clientX, e.clientY - start.event.clientY);
    if (moved >= DRAG_THRESHOLD) {
      const p = toImage(e);
      addPrompt({kind: "box", box: [Math.min(start.at.x, p.x), Math.min(start.at.y, p.y),
                                    Math.max(start.at.x, p.x), Math.max(start.at.y, p.y)]});
    } else {
      addPrompt({kind: "point", x: start.at.x, y: start.at.y, label: start.label});
    }
  });

  ui.querySelector("#image-file").addEventListener("change", (e) => {
    if (e.target.files[0]) open(e.target.files[0]);
  });
  const drop = ui.querySelector("#image-drop");
  drop.addEventListener("dragover", (e) => e.preventDefault());
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer.files[0]) open(e.dataTransfer.files[0]);
  });
  ui.querySelector("#image-undo").addEventListener("click", () => {
    state.prompts.pop();
    drawMarks();
    segment();
  });
  ui.querySelector("#image-clear").addEventListener("click", () => {
    state.prompts = [];
    state.candidates = [];
    state.everything = null;
    drawMarks();
    drawMasks();
  });
  ui.querySelector("#image-everything").addEventListener("click", async () => {
    if (!state.session) return;
    showError(null);
    setStatus("segmenting everything…");
    const perSide = Number(ui.querySelector("#image-points-per-side").value);
    try {
      const result = await call("/api/v1/image/generate",
                                {session: state.session, automatic: {points_per_side: perSide}});
      state.prompts = [];
      state.candidates = [];
      state.everything = result.annotations.map((a) => ({rle: a.segmentation, mask: decodeRle(a.segmentation), record: a}));
      state.segments++;
      drawMarks();
      drawMasks();
      setStatus(`${state.everything.length} automatic mask(s)`);
    } catch (e) {
      showError(e);
      setStatus("");
    }
  });

  // What is shown: the automatic masks, or the selected candidate.
  function shown() {
    if (state.everything) {
      return state.everything.map((m, i) => ({mask: m.mask, rle: m.rle, rgb: colour(i), category: i + 1,
                                              extra: {predicted_iou: m.record.predicted_iou,
                                                      stability_score: m.record.stability_score}}));
    }
    if (!state.candidates.length) return [];
    const c = state.candidates[state.selected];
    return [{mask: c.mask, rle: c.rle, rgb: [255, 255, 255], category: 1, extra: {predicted_iou: c.score}}];
  }
  const stem = () => (state.file ? state.file.name.replace(/\.[^.]*$/, "") : "image");
  ui.querySelector("#image-export-coco").addEventListener("click", () => {
    const layers = shown();
    if (!layers.length) return showError(new Error("no mask to export yet"));
    downloadJson(`${stem()}_masks.json`, cocoJson(
      [{id: 1, file_name: state.file.name, width: state.width, height: state.height}],
      layers.map((l) => ({image_id: 1, rle: l.rle, category: l.category, extra: l.extra}))));
  });
  ui.querySelector("#image-export-png").addEventListener("click", () => {
    const layers = shown();
    if (!layers.length) return showError(new Error("no mask to export yet"));
    downloadPng(`${stem()}_masks.png`, state.width, state.height, layers);
  });
}
