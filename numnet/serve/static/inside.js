// numnet serve, "Look inside": draw a digit, send the pad as a PNG to /api/predict, show what comes back.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  // The pad is 280 px for the 28-pixel field; a digit drawn ~200 px tall becomes MNIST's 20 px, so a
  // 20 px pen leaves strokes about 2 px wide, as MNIST's are.
  const BRUSH = 20;
  const TILE = 56; // size of a feature-map tile on screen

  const params = new URLSearchParams(location.search);
  const state = {
    run: params.get("run"),
    model: null,
    strokes: [],
    current: null,
    baseImage: null, // an image file dropped or chosen: drawn under the strokes
    baseFile: null,
    busy: false,
    controller: null, // aborts the request under way
    asked: 0, // the edits that request was sent with
    dirty: false,
    edits: 0, // changes to the pad so far
    strokeEnd: null, // {time, edits} of the last finished stroke, until its prediction shows
    result: null,
    selected: null, // {layer, unit}
    weights: null,
    views: [], // per layer: {canvas, layout}
  };
  // read by scripts and tests: the stroke-to-prediction times in milliseconds, each request's times
  // (PNG encoding, round trip, the server's part of it, drawing the answer), and how many of the pad's changes the prediction on screen has seen (equal to
  // `edits` when it is up to date)
  const stats = { latencies: [], requests: [], edits: 0, shown: 0 };
  window.numnetStats = stats;

  const query = () => (state.run ? `?run=${encodeURIComponent(state.run)}` : "");

  // ---- the pad ---------------------------------------------------------------------------------

  const pad = $("pad");
  const ctx = pad.getContext("2d", { willReadFrequently: true });

  function point(event) {
    const rect = pad.getBoundingClientRect();
    return [(event.clientX - rect.left) * (pad.width / rect.width), (event.clientY - rect.top) * (pad.height / rect.height)];
  }

  function paintStroke(points) {
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineWidth = BRUSH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    if (points.length === 1) {
      ctx.beginPath();
      ctx.arc(points[0][0], points[0][1], BRUSH / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }

  function redraw() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, pad.width, pad.height);
    if (state.baseImage) {
      const image = state.baseImage;
      const scale = Math.min(pad.width / image.width, pad.height / image.height);
      const w = image.width * scale, h = image.height * scale;
      ctx.drawImage(image, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
    }
    state.strokes.forEach(paintStroke);
    $("pad-hint").hidden = state.strokes.length > 0 || state.baseImage !== null;
  }

  pad.addEventListener("pointerdown", (event) => {
    if (!state.model) return;
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    state.current = [point(event)];
    state.strokes.push(state.current);
    $("pad-hint").hidden = true;
    paintStroke(state.current);
    schedule();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!state.current) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) state.current.push(point(e));
    paintStroke(state.current.slice(-events.length - 1));
    schedule();
  });
  const endStroke = () => {
    if (!state.current) return;
    state.current = null;
    state.strokeEnd = { time: performance.now(), edits: state.edits };
    if (state.busy && state.asked < state.edits) {
      // the request under way shows the stroke unfinished: drop it; the whole stroke is sent next
      state.controller.abort();
    } else if (stats.shown === state.edits) {
      noteShown(state.edits); // the prediction on screen already has the whole stroke
    }
  };
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);

  $("clear").addEventListener("click", () => {
    state.strokes = [];
    state.baseImage = null;
    state.baseFile = null;
    redraw();
    schedule();
  });
  $("undo").addEventListener("click", () => {
    state.strokes.pop();
    redraw();
    schedule();
  });

  // ---- image files: dropped on the pad or chosen -----------------------------------------------

  function useFile(file) {
    if (!file) return;
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => {
      state.baseImage = image;
      state.baseFile = file;
      state.strokes = [];
      redraw();
      schedule();
    };
    image.onerror = () => showError(`${file.name}: the browser cannot show this image`);
    image.src = url;
  }
  pad.addEventListener("dragover", (event) => { event.preventDefault(); pad.classList.add("dragover"); });
  pad.addEventListener("dragleave", () => pad.classList.remove("dragover"));
  pad.addEventListener("drop", (event) => {
    event.preventDefault();
    pad.classList.remove("dragover");
    useFile(event.dataTransfer.files[0]);
  });
  $("file").addEventListener("change", (event) => useFile(event.target.files[0]));

  // ---- asking the server: one request at a time, the newest picture next -----------------------

  // The pad as a binary PGM file: its exact gray levels, uncompressed. Encoding it takes a
  // millisecond where a PNG takes many, and the server reads it as it reads any image file.
  function padImage() {
    const { width, height } = pad;
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const header = new TextEncoder().encode(`P5\n${width} ${height}\n255\n`);
    const pixels = new Uint8Array(header.length + width * height);
    pixels.set(header);
    for (let i = 0, j = header.length; i < rgba.length; i += 4, j++) pixels[j] = rgba[i]; // gray: red = green = blue
    return new Blob([pixels], { type: "image/x-portable-graymap" });
  }

  function schedule() {
    state.edits += 1;
    stats.edits = state.edits;
    state.dirty = true;
    if (!state.busy) send();
  }

  async function send() {
    state.dirty = false;
    const edits = state.edits;
    if (state.strokes.length === 0 && !state.baseFile) {
      showResult(null);
      stats.shown = edits;
      return;
    }
    state.busy = true;
    state.asked = edits;
    try {
      const started = performance.now();
      let body, type;
      if (state.baseFile && state.strokes.length === 0) {
        body = state.baseFile; // the file itself, exactly what `numnet predict` would read
        type = state.baseFile.type || "application/octet-stream";
      } else {
        body = padImage();
        type = "image/x-portable-graymap";
      }
      const sent = performance.now();
      state.controller = new AbortController();
      const response = await fetch(`/api/predict${query()}`, {
        method: "POST", headers: { "Content-Type": type }, body, signal: state.controller.signal,
      });
      const result = await response.json();
      if (!response.ok) throw new Error(result.error || `${response.status} ${response.statusText}`);
      const timing = /dur=([0-9.]+)/.exec(response.headers.get("Server-Timing") || "");
      const received = performance.now();
      showResult(result);
      stats.requests.push({
        encode: sent - started, roundTrip: received - sent, server: timing ? Number(timing[1]) : null,
        render: performance.now() - received,
      });
      if (stats.requests.length > 1000) stats.requests.shift();
      stats.shown = edits;
      noteShown(edits);
    } catch (error) {
      if (error.name !== "AbortError") {
        showError(error.message);
        stats.shown = edits;
      }
    }
    state.controller = null;
    state.busy = false;
    if (state.dirty) send();
  }

  // The stroke-to-prediction time: from the end of a stroke to the first frame showing a prediction of it.
  function noteShown(edits) {
    const strokeEnd = state.strokeEnd;
    if (strokeEnd === null || edits < strokeEnd.edits) return;
    state.strokeEnd = null;
    requestAnimationFrame(() => {
      const ms = performance.now() - strokeEnd.time;
      stats.latencies.push(ms);
      $("timing").textContent = `updated ${Math.round(ms)} ms after the stroke`;
    });
  }

  function showError(message) {
    $("predict-error").textContent = message;
    $("predict-error").hidden = false;
  }

  // ---- showing a result ------------------------------------------------------------------------

  function buildBars(names) {
    const bars = $("probabilities");
    bars.innerHTML = "";
    for (const name of names) {
      bars.append(
        numnet.el("span", { class: "label", text: name }),
        numnet.el("div", { class: "track" }, numnet.el("div", { class: "fill" })),
        numnet.el("span", { class: "value", text: "" }),
      );
    }
  }

  function showResult(result) {
    state.result = result;
    $("predict-error").hidden = true;
    const bars = $("probabilities").children;
    if (!result) {
      $("prediction").textContent = "";
      $("confidence").textContent = "";
      $("timing").textContent = "";
      for (let i = 0; i < bars.length; i += 3) {
        bars[i].classList.remove("top");
        bars[i + 1].classList.remove("top");
        bars[i + 1].firstChild.style.width = "0";
        bars[i + 2].textContent = "";
      }
      const seen = $("seen").getContext("2d");
      seen.fillStyle = "#000";
      seen.fillRect(0, 0, 28, 28);
      state.views.forEach((view) => view.clear());
      showDetail();
      return;
    }
    numnet.paintGrid($("seen"), result.input, (v) => { const g = Math.round(255 * v); return [g, g, g]; });
    const top = result.classes.indexOf(result.prediction);
    $("prediction").textContent = result.prediction;
    $("confidence").textContent = numnet.percent(result.probabilities[top]);
    result.probabilities.forEach((p, i) => {
      bars[3 * i].classList.toggle("top", i === top);
      bars[3 * i + 1].classList.toggle("top", i === top);
      bars[3 * i + 1].firstChild.style.width = `${(100 * p).toFixed(1)}%`;
      bars[3 * i + 2].textContent = numnet.percent(p);
    });
    result.layers.forEach((layer, i) => state.views[i].draw(layer.output));
    showDetail();
  }

  // ---- the layers ------------------------------------------------------------------------------

  function layerTitle(layer) {
    const c = layer.config;
    const shape = `(${layer.output_shape.join(", ")})`;
    const about = {
      Dense: () => `${c.in_features} → ${c.out_features}`,
      Conv2D: () => `${c.in_channels} → ${c.out_channels} channels, ${c.kernel_size.join("×")} kernels`,
      MaxPool2D: () => `${c.kernel_size.join("×")}`,
      AvgPool2D: () => `${c.kernel_size.join("×")}`,
      Dropout: () => `p = ${c.p} (off when predicting)`,
    }[layer.kind];
    return [`${layer.kind}${about ? " " + about() : ""}`, `output ${shape}`];
  }

  // A view draws one layer's output on a canvas and maps clicks back to units.
  function makeView(layer, width) {
    const canvas = numnet.el("canvas", {});
    const shape = layer.output_shape;
    let layout;
    if (layer.view === "maps" || layer.view === "image") {
      const [channels, h, w] = layer.view === "maps" ? shape : [1, shape[0], shape[1]];
      const scale = Math.max(1, Math.floor(TILE / Math.max(h, w)));
      const tw = w * scale, th = h * scale, gap = 4;
      const cols = Math.max(1, Math.min(channels, Math.floor((width + gap) / (tw + gap))));
      layout = { kind: "tiles", channels, h, w, tw, th, gap, cols, units: channels };
      canvas.width = cols * (tw + gap) - gap;
      canvas.height = Math.ceil(channels / cols) * (th + gap) - gap;
    } else {
      const n = shape.reduce((a, b) => a * b, 1);
      const size = n <= 32 ? 22 : n <= 128 ? 14 : n <= 512 ? 10 : 7;
      let cols = Math.max(1, Math.min(n, Math.floor(width / size)));
      // a flattened picture or stack of feature maps keeps one row per picture row (or per map)
      const before = layer.index > 0 ? state.model.layers[layer.index - 1].output_shape : state.model.input_shape;
      if (layer.kind === "Flatten" && before.length >= 2) {
        const row = before.length === 2 ? before[1] : before[1] * before[2];
        if (row * size <= width) cols = row;
      }
      layout = { kind: "cells", n, size, cols, units: n };
      canvas.width = cols * size;
      canvas.height = Math.ceil(n / cols) * size;
    }
    const g = canvas.getContext("2d");
    const tile = document.createElement("canvas");
    let values = null;

    function unitBox(unit) {
      if (layout.kind === "tiles") {
        const x = (unit % layout.cols) * (layout.tw + layout.gap), y = Math.floor(unit / layout.cols) * (layout.th + layout.gap);
        return [x, y, layout.tw, layout.th];
      }
      return [(unit % layout.cols) * layout.size, Math.floor(unit / layout.cols) * layout.size, layout.size, layout.size];
    }

    function draw(output) {
      values = output;
      g.clearRect(0, 0, canvas.width, canvas.height);
      const m = numnet.maxAbs(output);
      if (layout.kind === "tiles") {
        const maps = layer.view === "maps" ? output : [output];
        g.imageSmoothingEnabled = false;
        maps.forEach((map, c) => {
          numnet.paintGrid(tile, map, (v) => numnet.diverging(v / m));
          const [x, y, w, h] = unitBox(c);
          g.drawImage(tile, x, y, w, h);
        });
      } else {
        const flat = output.flat(Infinity);
        flat.forEach((v, i) => {
          const [r, gg, b] = numnet.diverging(v / m);
          const [x, y, w, h] = unitBox(i);
          g.fillStyle = `rgb(${r},${gg},${b})`;
          g.fillRect(x, y, w - (layout.size > 6 ? 1 : 0), h - (layout.size > 6 ? 1 : 0));
        });
      }
      if (state.selected && state.selected.layer === layer.index) {
        const [x, y, w, h] = unitBox(state.selected.unit);
        g.strokeStyle = "#1f2328";
        g.lineWidth = 2;
        g.strokeRect(x + 1, y + 1, w - 2, h - 2);
      }
    }

    function valueOf(unit) {
      if (!values) return null;
      if (layout.kind === "tiles") {
        const map = (layer.view === "maps" ? values[unit] : values).flat();
        return { max: Math.max(...map), mean: map.reduce((a, b) => a + b, 0) / map.length };
      }
      return values.flat(Infinity)[unit];
    }

    canvas.addEventListener("click", (event) => {
      const rect = canvas.getBoundingClientRect();
      const x = (event.clientX - rect.left) * (canvas.width / rect.width);
      const y = (event.clientY - rect.top) * (canvas.height / rect.height);
      let unit;
      if (layout.kind === "tiles") {
        const col = Math.floor(x / (layout.tw + layout.gap)), row = Math.floor(y / (layout.th + layout.gap));
        unit = row * layout.cols + col;
      } else {
        unit = Math.floor(y / layout.size) * layout.cols + Math.floor(x / layout.size);
      }
      if (unit < 0 || unit >= layout.units) return;
      select(layer.index, unit);
    });

    return { canvas, draw, valueOf, clear: () => { values = null; g.clearRect(0, 0, canvas.width, canvas.height); } };
  }

  function buildLayers(model) {
    const box = $("layers");
    box.innerHTML = "";
    const width = Math.max(280, box.clientWidth - 4);
    state.views = model.layers.map((layer) => {
      const [title, shape] = layerTitle(layer);
      const view = makeView(layer, width);
      box.append(numnet.el("section", { class: "layer", "data-testid": `layer-${layer.index}` },
        numnet.el("header", {},
          numnet.el("span", { class: "index", text: String(layer.index) }),
          numnet.el("h3", { text: title }),
          numnet.el("span", { class: "small muted", text: shape })),
        view.canvas));
      return view;
    });
  }

  // ---- one unit: its value and its incoming weights ---------------------------------------------

  async function select(layerIndex, unit) {
    state.selected = { layer: layerIndex, unit };
    state.weights = null;
    if (state.result) showResult(state.result);
    try {
      state.weights = await numnet.api("GET", `/api/model/layers/${layerIndex}/units/${unit}${query()}`);
    } catch (error) {
      state.weights = { error: error.message };
    }
    showDetail();
  }

  function weightsCanvas(w) {
    const canvas = numnet.el("canvas", { class: "pixelated" });
    const m = numnet.maxAbs(w.weights);
    const colour = (v) => numnet.diverging(v / m);
    if (w.picture === "image") {
      numnet.paintGrid(canvas, w.weights, colour);
      canvas.style.width = canvas.style.height = "168px";
    } else if (w.picture === "tiles") {
      const [channels, kh, kw] = w.shape;
      const scale = Math.max(4, Math.floor(36 / Math.max(kh, kw))), gap = 3;
      const cols = Math.min(channels, 8);
      canvas.width = cols * (kw * scale + gap) - gap;
      canvas.height = Math.ceil(channels / cols) * (kh * scale + gap) - gap;
      const g = canvas.getContext("2d");
      w.weights.forEach((kernel, c) => kernel.forEach((row, i) => row.forEach((v, j) => {
        const [r, gg, b] = colour(v);
        g.fillStyle = `rgb(${r},${gg},${b})`;
        g.fillRect((c % cols) * (kw * scale + gap) + j * scale, Math.floor(c / cols) * (kh * scale + gap) + i * scale, scale, scale);
      })));
    } else {
      const n = w.weights.length, size = n <= 64 ? 14 : 8, cols = Math.min(n, Math.floor(260 / size));
      canvas.width = cols * size;
      canvas.height = Math.ceil(n / cols) * size;
      const g = canvas.getContext("2d");
      w.weights.forEach((v, i) => {
        const [r, gg, b] = colour(v);
        g.fillStyle = `rgb(${r},${gg},${b})`;
        g.fillRect((i % cols) * size, Math.floor(i / cols) * size, size - 1, size - 1);
      });
    }
    return canvas;
  }

  function showDetail() {
    const body = $("detail-body");
    if (!state.selected) return;
    const { layer, unit } = state.selected;
    const info = state.model.layers[layer];
    const view = state.views[layer];
    const value = view.valueOf(unit);
    body.innerHTML = "";
    body.classList.remove("muted");
    const what = info.view === "maps" ? `feature map ${unit}` : `unit ${unit}`;
    body.append(numnet.el("h3", { text: `Layer ${layer} · ${info.kind} · ${what}` }));
    let valueText = "draw something to see its value";
    if (value !== null && typeof value === "object") valueText = `max ${value.max.toFixed(3)}, mean ${value.mean.toFixed(3)}`;
    else if (value !== null) valueText = `value ${value.toFixed(4)}`;
    body.append(numnet.el("p", { "data-testid": "unit-value", text: valueText }));
    const w = state.weights;
    if (!w) return;
    if (w.error) {
      body.append(numnet.el("p", { class: "muted", text: w.error }));
      return;
    }
    const source = state.model.layers[w.weights_of];
    const from = w.weights_of === layer ? "" : ` (those of layer ${w.weights_of}, ${source.kind}, which computes it)`;
    const shape = w.picture === "image" ? "as a 28×28 picture" : w.picture === "tiles" ? `one ${w.shape[1]}×${w.shape[2]} tile per input channel` : `${w.shape[0]} weights`;
    body.append(numnet.el("p", { class: "small", text: `Incoming weights${from}, ${shape}; bias ${w.bias.toFixed(4)}:` }));
    body.append(weightsCanvas(w));
  }

  // ---- the model, or training one --------------------------------------------------------------

  async function fillModelChoice(info) {
    const choice = $("model-choice");
    choice.innerHTML = "";
    // the default is the file named on the command line, or else the newest run's model
    const shown = !state.run && info.state === "ready" ? `default: ${info.model.source}` : "default: the newest run";
    choice.append(numnet.el("option", { value: "", text: shown }));
    try {
      const listing = await numnet.api("GET", "/api/runs");
      for (const run of listing.runs.filter((r) => r.has_model)) {
        const accuracy = run.test_accuracy === null ? "" : ` · ${numnet.percent(run.test_accuracy)}`;
        choice.append(numnet.el("option", { value: run.name, text: `${run.name}${run.dataset ? " · " + run.dataset : ""}${accuracy}` }));
      }
    } catch (error) { /* the list is a convenience; the page works without it */ }
    choice.value = state.run || "";
    choice.addEventListener("change", () => {
      location.search = choice.value ? `?run=${encodeURIComponent(choice.value)}` : "";
    });
  }

  function showModel(model) {
    state.model = model;
    // ask about this very model from now on, even when a newer run appears meanwhile
    if (!state.run && model.run) state.run = model.run;
    $("no-model").hidden = true;
    $("inside").hidden = false;
    buildBars(model.class_names);
    buildLayers(model);
    redraw();
    showResult(null);
  }

  async function watchTraining() {
    $("train").disabled = true;
    $("train-progress").hidden = false;
    for (;;) {
      let status;
      try {
        status = await numnet.api("GET", "/api/train");
      } catch (error) {
        $("train-error").textContent = error.message;
        $("train-error").hidden = false;
        return;
      }
      const fraction = status.epochs ? status.epochs_done / status.epochs : 0;
      $("train-bar").style.width = `${(100 * fraction).toFixed(0)}%`;
      const losses = status.history && status.history.val_accuracy;
      const accuracy = losses && losses.length ? ` · validation accuracy ${numnet.percent(losses[losses.length - 1])}` : "";
      $("train-text").textContent = `epoch ${status.epochs_done} of ${status.epochs}${accuracy} · ${status.elapsed} s · run ${status.run}`;
      if (status.state === "done") {
        await start();
        return;
      }
      if (status.state === "failed") {
        $("train-error").textContent = `training failed: ${status.error}`;
        $("train-error").hidden = false;
        $("train").disabled = false;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  }

  $("train").addEventListener("click", async () => {
    try {
      await numnet.api("POST", "/api/train");
    } catch (error) {
      if (error.status !== 409) {
        $("train-error").textContent = error.message;
        $("train-error").hidden = false;
        return;
      }
    }
    watchTraining();
  });

  async function start() {
    let info;
    try {
      info = await numnet.api("GET", `/api/model${query()}`);
    } catch (error) {
      document.querySelector("main").hidden = false;
      $("no-model").hidden = false;
      $("no-model").querySelector("h2").textContent = "Cannot show this model";
      $("train-error").textContent = error.message;
      $("train-error").hidden = false;
      return;
    }
    await fillModelChoice(info);
    if (info.state === "none") {
      $("no-model").hidden = false;
      $("runs-dir").textContent = info.runs_dir;
      if (info.training.state === "running") watchTraining();
      return;
    }
    showModel(info.model);
  }

  start();
})();
