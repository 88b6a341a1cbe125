// The video tab: upload a video file or a set of frame images (with a
// progress bar), scrub the frames, add objects with clicks on any frame,
// propagate forward, backward or both with masks streaming in frame by
// frame (progress bar; cancel stops the server within one frame), correct
// an object on a later frame and propagate again, play the result back with
// the overlays, and export COCO JSON (every frame) or a PNG (this frame).
//
// Frames are shown from the images the person chose, or, for a video file,
// as the server decodes them for the model (GET /api/v1/video/frame, a few
// kept here), so any format the server reads can be shown. Test hooks on
// #video-panel: data-session,
// data-num-frames, data-objects (ids), data-frame-objects (ids with a mask
// on the shown frame), data-frames-with-masks (frames that have a mask of
// some object) and data-stream ("running", "done", "cancelled" or "error").

import {call, getBlob, stream, upload} from "./api.js";
import {colour, cocoJson, decodeRle, downloadJson, downloadPng, paint} from "./masks.js";

// Playback speed, frames per second.
const PLAY_FPS = 8;
// Decoded frames of a video file kept in the page (oldest dropped first).
const FRAME_CACHE = 64;

export function setupVideo(ui, showError, setStatus) {
  const state = {
    session: null, numFrames: 0, width: 0, height: 0,
    frames: null,         // ImageBitmaps (frame images), or null for a video file
    served: new Map(),    // a video file's frames fetched so far: index → ImageBitmap
    frame: 0,
    objects: [],          // object ids, in creation order
    current: 0,           // the object clicks go to
    points: new Map(),    // `${frame}/${object}` → [{x, y, label}]
    masks: new Map(),     // frame → Map(object → {rle, mask})
    controller: null,     // the running propagation's AbortController
    playing: null,
    names: [],
  };

  const panel = ui;
  const base = ui.querySelector("#video-base");
  const maskCanvas = ui.querySelector("#video-mask");
  const marks = ui.querySelector("#video-marks");
  const scrub = ui.querySelector("#video-scrub");
  const frameLabel = ui.querySelector("#video-frame-label");
  const uploadBar = ui.querySelector("#video-upload-progress");
  const propagateBar = ui.querySelector("#video-propagate-progress");
  const objectList = ui.querySelector("#video-objects");

  function updateHooks() {
    panel.dataset.session = state.session || "";
    panel.dataset.numFrames = String(state.numFrames);
    let withMasks = 0;
    for (const objects of state.masks.values()) if (objects.size) withMasks++;
    panel.dataset.framesWithMasks = String(withMasks);
    panel.dataset.objects = state.objects.join(",");
  }

  // Frame `i` of a video file, from the server (kept in state.served).
  async function servedFrame(i) {
    if (state.served.has(i)) return state.served.get(i);
    const blob = await getBlob(`/api/v1/video/frame?session=${encodeURIComponent(state.session)}&index=${i}`);
    const bitmap = await createImageBitmap(blob);
    state.served.set(i, bitmap);
    if (state.served.size > FRAME_CACHE) state.served.delete(state.served.keys().next().value);
    return bitmap;
  }

  async function drawFrame() {
    const i = state.frame;
    const ctx = base.getContext("2d");
    if (state.frames) {
      ctx.drawImage(state.frames[i], 0, 0, state.width, state.height);
    } else if (state.session) {
      try {
        const bitmap = await servedFrame(i);
        if (state.frame !== i) return;  // scrubbed on meanwhile
        ctx.drawImage(bitmap, 0, 0, state.width, state.height);
      } catch (e) {
        showError(e);
      }
    }
    panel.dataset.shownFrame = String(i);
    drawOverlay();
  }

  function drawOverlay() {
    const objects = state.masks.get(state.frame) || new Map();
    panel.dataset.frameObjects = [...objects.keys()].sort((a, b) => a - b).join(",");
    paint(maskCanvas, [...objects.entries()].map(([id, m]) => ({mask: m.mask, rgb: colour(id)})));
    const ctx = marks.getContext("2d");
    ctx.clearRect(0, 0, marks.width, marks.height);
    const r = Math.max(3, state.width / 120);
    for (const id of state.objects) {
      for (const p of state.points.get(`${state.frame}/${id}`) || []) {
        ctx.beginPath();
        ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
        ctx.fillStyle = p.label === 1 ? "#2ecc40" : "#ff4136";
        ctx.fill();
        ctx.strokeStyle = `rgb(${colour(id).join(",")})`;
        ctx.lineWidth = 2;
        ctx.stroke();
      }
    }
    scrub.value = String(state.frame);
    frameLabel.textContent = `frame ${state.frame + 1} / ${state.numFrames}`;
  }

  function drawObjects() {
    objectList.replaceChildren(...state.objects.map((id) => {
      const button = document.createElement("button");
      button.textContent = `object ${id}`;
      button.style.borderColor = `rgb(${colour(id).join(",")})`;
      button.className = id === state.current ? "selected" : "";
      button.addEventListener("click", () => {
        state.current = id;
        drawObjects();
      });
      return button;
    }));
  }

  function storeFrame(frame) {
    const objects = new Map();
    for (const o of frame.objects) objects.set(o.object_id, {rle: o.mask, mask: decodeRle(o.mask)});
    state.masks.set(frame.frame_index, objects);
  }

  function reset() {
    stopPlaying();
    Object.assign(state, {objects: [], current: 0, points: new Map(), masks: new Map(), frame: 0});
    drawObjects();
  }

  function start(created, frames, names) {
    reset();
    Object.assign(state, {session: created.session, numFrames: created.num_frames,
                          width: created.width, height: created.height, frames, names,
                          served: new Map()});
    for (const c of [base, maskCanvas, marks]) {
      c.width = created.width;
      c.height = created.height;
    }
    scrub.max = String(Math.max(0, created.num_frames - 1));
    propagateBar.value = 0;
    ui.querySelector("#video-stage").hidden = false;
    updateHooks();
    drawFrame();
    setStatus(`${created.num_frames} frames of ${created.width}×${created.height}; add an object and click on it`);
  }

  async function dropOld() {
    if (state.session) {
      call("/api/v1/session/delete", {session: state.session}).catch(() => {});
      state.session = null;
    }
  }

  async function openVideoFile(file) {
    showError(null);
    await dropOld();
    setStatus(`uploading ${file.name}…`);
    uploadBar.value = 0;
    try {
      const created = await upload("/api/v1/video/create", file, file.type || "application/octet-stream", {},
                                   (f) => { uploadBar.value = f; });
      start(created, null, [file.name]);
    } catch (e) {
      showError(e);
      setStatus("");
    }
  }

  async function openFrames(files) {
    showError(null);
    await dropOld();
    const sorted = [...files].sort((a, b) => a.name.localeCompare(b.name, undefined, {numeric: true}));
    setStatus(`uploading ${sorted.length} frames…`);
    uploadBar.value = 0;
    try {
      let created = await call("/api/v1/video/create", {});
      const bitmaps = [];
      const total = sorted.reduce((n, f) => n + f.size, 0) || 1;
      let sent = 0;
      for (const file of sorted) {
        created = await upload("/api/v1/video/append", file, file.type || "image/jpeg",
                               {"X-Sam2-Session": created.session},
                               (f) => { uploadBar.value = (sent + f * file.size) / total; });
        sent += file.size;
        bitmaps.push(await createImageBitmap(file));
        panel.dataset.framesUploaded = String(bitmaps.length);
      }
      start(created, bitmaps, sorted.map((f) => f.name));
    } catch (e) {
      showError(e);
      setStatus("");
    }
  }

  function toImage(event) {
    const rect = marks.getBoundingClientRect();
    return {
      x: Math.min(state.width - 1, Math.max(0, (event.clientX - rect.left) * state.width / rect.width)),
      y: Math.min(state.height - 1, Math.max(0, (event.clientY - rect.top) * state.height / rect.height)),
    };
  }

  // Clicks are sent one after another (each resends its object's points on
  // that frame, so each must see the one before).
  let clicks = Promise.resolve();
  function addPoint(point) {
    clicks = clicks.then(() => sendPoint(point));
    return clicks;
  }

  async function sendPoint(point) {
    if (!state.session || state.controller) return;
    if (!state.objects.length) addObject();
    showError(null);
    const key = `${state.frame}/${state.current}`;
    const points = [...(state.points.get(key) || []), point];
    try {
      const frame = await call("/api/v1/video/prompts", {
        session: state.session, frame_index: state.frame, object_id: state.current,
        points: points.map((p) => [p.x, p.y]), point_labels: points.map((p) => p.label),
        clear_old_points: true,
      });
      state.points.set(key, points);
      storeFrame(frame);
      marks.dataset.point = JSON.stringify([point.x, point.y, point.label]);
      updateHooks();
      drawOverlay();
    } catch (e) {
      showError(e);
    }
  }

  function addObject() {
    const id = state.objects.length ? Math.max(...state.objects) + 1 : 1;
    state.objects.push(id);
    state.current = id;
    drawObjects();
    updateHooks();
  }

  // Removes the selected object on the server and here; the frames it
  // changed come back with the other objects' masks.
  async function removeObject() {
    if (!state.session || state.controller || !state.objects.includes(state.current)) return;
    showError(null);
    const id = state.current;
    try {
      const result = await call("/api/v1/video/remove_object", {session: state.session, object_id: id});
      state.objects = state.objects.filter((o) => o !== id);
      for (const objects of state.masks.values()) objects.delete(id);
      for (const key of [...state.points.keys()]) if (key.endsWith(`/${id}`)) state.points.delete(key);
      for (const frame of result.updated_frames) storeFrame(frame);
      state.current = state.objects.length ? state.objects[state.objects.length - 1] : 0;
      drawObjects();
      updateHooks();
      drawOverlay();
    } catch (e) {
      showError(e);
    }
  }

  async function propagate() {
    if (!state.session || state.controller) return;
    showError(null);
    const direction = ui.querySelector("#video-direction").value;
    const controller = new AbortController();
    state.controller = controller;
    panel.dataset.stream = "running";
    propagateBar.value = 0;
    ui.querySelector("#video-cancel").disabled = false;
    setStatus(`propagating ${direction} from frame ${state.frame + 1}…`);
    try {
      const last = await stream("/api/v1/video/propagate",
                                {session: state.session, start_frame: state.frame, direction},
                                (line) => {
                                  storeFrame(line.frame);
                                  propagateBar.value = line.frames_done / line.frames_total;
                                  panel.dataset.framesStreamed = String(line.frames_done);
                                  updateHooks();
                                  if (line.frame.frame_index === state.frame) drawOverlay();
                                },
                                controller.signal);
      panel.dataset.stream = "done";
      setStatus(`propagated: ${last ? last.frames_done : 0} frames`);
    } catch (e) {
      if (controller.signal.aborted) {
        panel.dataset.stream = "cancelled";
        setStatus("propagation cancelled");
      } else {
        panel.dataset.stream = "error";
        showError(e);
        setStatus("");
      }
    } finally {
      state.controller = null;
      ui.querySelector("#video-cancel").disabled = true;
      drawFrame();
    }
  }

  function stopPlaying() {
    if (state.playing) clearInterval(state.playing);
    state.playing = null;
    ui.querySelector("#video-play").textContent = "Play";
  }

  // Wiring.
  ui.querySelector("#video-file").addEventListener("change", (e) => {
    const files = [...e.target.files];
    if (!files.length) return;
    if (files.length === 1 && !files[0].type.startsWith("image/")) openVideoFile(files[0]);
    else openFrames(files);
  });
  scrub.addEventListener("input", () => {
    state.frame = Number(scrub.value);
    drawFrame();
  });
  marks.addEventListener("contextmenu", (e) => e.preventDefault());
  marks.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    const p = toImage(e);
    addPoint({x: p.x, y: p.y, label: e.button === 2 || e.shiftKey ? 0 : 1});
  });
  ui.querySelector("#video-add-object").addEventListener("click", addObject);
  ui.querySelector("#video-remove-object").addEventListener("click", () => {
    clicks = clicks.then(removeObject);
  });
  ui.querySelector("#video-propagate").addEventListener("click", propagate);
  ui.querySelector("#video-cancel").addEventListener("click", () => {
    if (state.controller) state.controller.abort();
  });
  ui.querySelector("#video-reset").addEventListener("click", async () => {
    if (!state.session) return;
    try {
      await call("/api/v1/video/reset", {session: state.session});
      reset();
      updateHooks();
      drawFrame();
    } catch (e) {
      showError(e);
    }
  });
  ui.querySelector("#video-play").addEventListener("click", () => {
    if (state.playing) return stopPlaying();
    ui.querySelector("#video-play").textContent = "Pause";
    state.playing = setInterval(() => {
      state.frame = (state.frame + 1) % Math.max(1, state.numFrames);
      drawFrame();
    }, 1000 / PLAY_FPS);
  });
  ui.querySelector("#video-export-coco").addEventListener("click", () => {
    const images = [];
    const annotations = [];
    for (let i = 0; i < state.numFrames; i++) {
      images.push({id: i + 1, frame_index: i, width: state.width, height: state.height,
                   file_name: state.frames ? state.names[i] : `${state.names[0]}#${i}`});
      for (const [id, m] of state.masks.get(i) || []) {
        annotations.push({image_id: i + 1, rle: m.rle, category: id, extra: {object_id: id}});
      }
    }
    if (!annotations.length) return showError(new Error("no mask to export yet"));
    downloadJson("video_masks.json", cocoJson(images, annotations));
  });
  ui.querySelector("#video-export-png").addEventListener("click", () => {
    const objects = state.masks.get(state.frame);
    if (!objects || !objects.size) return showError(new Error("this frame has no mask yet"));
    downloadPng(`frame_${String(state.frame).padStart(5, "0")}_masks.png`, state.width, state.height,
                [...objects.entries()].map(([id, m]) => ({mask: m.mask, rgb: colour(id)})));
  });
}
