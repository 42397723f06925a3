// numnet serve, "Playground": a session on the server trains; its snapshots stream in as server-sent events.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SIDE = 320; // boundary canvas size in px

  const page = {
    defaults: null,
    limits: null,
    hidden: [],
    seed: 0,
    session: null, // the id
    data: null,
    source: null, // the EventSource
    version: 0,
    playing: false,
    grid: null,
    boundary: null,
    ready: Promise.resolve(), // settles when the newest session has been created
  };

  // ---- settings --------------------------------------------------------------------------------

  function fillSelect(select, values) {
    select.innerHTML = "";
    values.forEach((value) => select.append(numnet.el("option", { value, text: value })));
  }

  function settings() {
    return {
      dataset: $("dataset").value,
      noise: Number($("noise").value),
      test_fraction: Number($("test_fraction").value),
      points: Number($("points").value),
      hidden: page.hidden.slice(),
      activation: $("activation").value,
      optimizer: $("optimizer").value,
      lr: Number($("lr").value),
      batch_size: Number($("batch_size").value),
      l2: Number($("l2").value),
      seed: page.seed,
    };
  }

  function showSettings(config) {
    $("dataset").value = config.dataset;
    $("noise").value = config.noise;
    $("test_fraction").value = config.test_fraction;
    $("points").value = String(config.points);
    $("activation").value = config.activation;
    $("optimizer").value = config.optimizer;
    $("lr").value = String(config.lr);
    $("l2").value = String(config.l2);
    $("batch_size").value = config.batch_size;
    page.hidden = config.hidden.slice();
    page.seed = config.seed;
    $("noise-value").textContent = config.noise;
    $("test-value").textContent = `${Math.round(100 * config.test_fraction)}%`;
  }

  function showMessage(text) {
    $("message").textContent = text || "";
    $("message").hidden = !text;
  }

  // ---- the session -----------------------------------------------------------------------------

  // Replace the session (settings changed, Reset, New points); a command given meanwhile waits for the new one.
  function newSession(keepPlaying) {
    const previous = page.ready;
    page.ready = previous.then(() => createSession(keepPlaying)).catch((error) => showMessage(error.message));
    return page.ready;
  }

  async function createSession(keepPlaying) {
    const wasPlaying = page.playing;
    if (page.source) page.source.close();
    if (page.session) numnet.api("DELETE", `/api/playground/${page.session}`).catch(() => {});
    page.session = null;
    page.playing = false;
    let described;
    try {
      described = await numnet.api("POST", "/api/playground", settings());
    } catch (error) {
      showMessage(error.message);
      return;
    }
    showMessage("");
    page.session = described.id;
    const status = $("session-status");
    status.dataset.id = described.id;
    status.dataset.dataset = described.config.dataset;
    page.data = described.data;
    page.version = 0;
    showSettings(described.config);
    buildNetwork();
    render(described.snapshot);
    $("export-model").href = `/api/playground/${page.session}/export/model`;
    $("export-code").href = `/api/playground/${page.session}/export/code`;
    openStream();
    if (keepPlaying && wasPlaying) await send("play");
  }

  function openStream() {
    const id = page.session;
    const source = new EventSource(`/api/playground/${id}/stream`);
    page.source = source;
    source.addEventListener("snapshot", (event) => render(JSON.parse(event.data)));
    source.addEventListener("closed", () => {
      source.close();
      showMessage("This session was freed after being idle. Press Reset to start again.");
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && page.session === id) {
        showMessage("Lost the connection to the server. Press Reset to start again.");
      }
    };
  }

  async function command(name, body) {
    await page.ready;
    return send(name, body);
  }

  async function send(name, body) {
    if (!page.session) return;
    try {
      render(await numnet.api("POST", `/api/playground/${page.session}/${name}`, body));
    } catch (error) {
      showMessage(error.message);
    }
  }

  // ---- drawing a snapshot ----------------------------------------------------------------------

  function render(snapshot) {
    if (snapshot.id !== page.session || snapshot.version < page.version) return;
    page.version = snapshot.version;
    page.grid = snapshot.grid;
    page.playing = snapshot.state === "playing";
    $("play").disabled = page.playing;
    $("pause").disabled = !page.playing;
    $("epoch").textContent = snapshot.epoch;
    $("steps").textContent = snapshot.step;
    $("train-loss").textContent = numnet.fixed(snapshot.train_loss);
    $("test-loss").textContent = numnet.fixed(snapshot.test_loss);
    $("train-accuracy").textContent = numnet.percent(snapshot.train_accuracy);
    $("test-accuracy").textContent = numnet.percent(snapshot.test_accuracy);
    $("session-status").textContent = snapshot.state;
    if (snapshot.message) showMessage(snapshot.message);
    if (snapshot.boundary) {
      page.boundary = snapshot.boundary;
      drawBoundary(snapshot.boundary);
    }
    drawUnits(snapshot.units);
    drawCurve(snapshot.history);
  }

  const field = document.createElement("canvas");

  function toPixel(x1, x2) {
    const extent = page.grid ? page.grid.extent : 6;
    return [((x1 + extent) / (2 * extent)) * SIDE, ((extent - x2) / (2 * extent)) * SIDE];
  }

  function drawBoundary(boundary) {
    // P(class 1) as colour: blue for class 1, orange for class 0, pale near 0.5
    numnet.paintGrid(field, boundary, (p) => numnet.diverging(-0.8 * (2 * p - 1)));
    const g = $("boundary").getContext("2d");
    g.imageSmoothingEnabled = true;
    g.drawImage(field, 0, 0, SIDE, SIDE);
    const parts = $("show-test").checked ? ["train", "test"] : ["train"];
    for (const part of parts) {
      const { x, y } = page.data[part];
      g.lineWidth = 1;
      g.strokeStyle = part === "train" ? "#fff" : "#1f2328";
      x.forEach(([x1, x2], i) => {
        const [px, py] = toPixel(x1, x2);
        g.beginPath();
        g.arc(px, py, 3.2, 0, 2 * Math.PI);
        g.fillStyle = y[i] === 1 ? "#1c7ed6" : "#e8590c";
        g.fill();
        g.stroke();
      });
    }
  }

  // ---- the network: input features, hidden layers with their units' maps ------------------------

  function inputMaps() {
    const n = 20, rows1 = [], rows2 = [];
    for (let i = 0; i < n; i++) {
      const r1 = [], r2 = [];
      for (let j = 0; j < n; j++) {
        r1.push((2 * j) / (n - 1) - 1);
        r2.push(1 - (2 * i) / (n - 1));
      }
      rows1.push(r1);
      rows2.push(r2);
    }
    return [rows1, rows2];
  }

  function buildNetwork() {
    const box = $("network");
    box.innerHTML = "";
    const inputs = numnet.el("div", { class: "net-layer" }, numnet.el("span", { class: "small muted", text: "input" }));
    const units = numnet.el("div", { class: "units" });
    inputMaps().forEach((map, i) => {
      const canvas = numnet.el("canvas", { title: i === 0 ? "x₁" : "x₂" });
      numnet.paintGrid(canvas, map, (v) => numnet.diverging(v));
      units.append(canvas);
    });
    inputs.append(units, numnet.el("span", { class: "small muted", text: "x₁, x₂" }));
    box.append(inputs);
    page.hidden.forEach((count, layer) => {
      const column = numnet.el("div", { class: "net-layer", "data-testid": `hidden-${layer}` });
      const buttons = numnet.el("div", { class: "buttons row" },
        numnet.el("button", { text: "+", title: "add a unit", onclick: () => changeUnits(layer, +1) }),
        numnet.el("button", { text: "−", title: "remove a unit", onclick: () => changeUnits(layer, -1) }));
      const unitBox = numnet.el("div", { class: "units" });
      for (let u = 0; u < count; u++) unitBox.append(numnet.el("canvas", { title: `layer ${layer + 1}, unit ${u}` }));
      column.append(buttons, unitBox, numnet.el("span", { class: "small muted", text: `${count} unit${count === 1 ? "" : "s"}` }));
      box.append(column);
    });
    $("layer-count").textContent = `${page.hidden.length} hidden layer${page.hidden.length === 1 ? "" : "s"}`;
    $("add-layer").disabled = page.hidden.length >= page.limits.hidden_layers[1];
    $("remove-layer").disabled = page.hidden.length === 0;
  }

  function drawUnits(units) {
    const columns = $("network").querySelectorAll(".net-layer");
    units.forEach((layer, l) => {
      const column = columns[l + 1];
      if (!column) return;
      const canvases = column.querySelectorAll(".units canvas");
      const m = numnet.maxAbs(layer.maps, 1e-3);
      layer.maps.forEach((map, u) => {
        if (canvases[u]) numnet.paintGrid(canvases[u], map, (v) => numnet.diverging(v / m));
      });
    });
  }

  function changeUnits(layer, delta) {
    const next = page.hidden[layer] + delta;
    if (next < page.limits.units[0] || next > page.limits.units[1]) return;
    page.hidden[layer] = next;
    newSession(true);
  }

  // ---- the loss curve --------------------------------------------------------------------------

  function drawCurve(history) {
    const canvas = $("curve");
    const g = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 6;
    g.clearRect(0, 0, w, h);
    const steps = history.step;
    if (steps.length < 2) return;
    const values = history.train_loss.concat(history.test_loss).filter((v) => v !== null);
    const top = Math.max(...values, 1e-6);
    const last = steps[steps.length - 1] || 1;
    const line = (series, colour) => {
      g.strokeStyle = colour;
      g.lineWidth = 1.5;
      g.beginPath();
      series.forEach((v, i) => {
        if (v === null) return;
        const x = pad + ((w - 2 * pad) * steps[i]) / last, y = h - pad - ((h - 2 * pad) * v) / top;
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
    };
    line(history.train_loss, "#57606a");
    line(history.test_loss, "#e8590c");
    g.fillStyle = "#656d76";
    g.font = "11px system-ui, sans-serif";
    g.fillText(`loss ${top.toFixed(3)}`, pad + 2, pad + 10);
    const label = `step ${last}`;
    g.fillText(label, w - pad - 2 - g.measureText(label).width, h - pad - 2);
  }

  // ---- controls --------------------------------------------------------------------------------

  $("play").addEventListener("click", () => command("play"));
  $("pause").addEventListener("click", () => command("pause"));
  $("step").addEventListener("click", () => command("step", { batches: 1 }));
  $("reset").addEventListener("click", () => newSession(false));
  $("regenerate").addEventListener("click", () => { page.seed = (page.seed + 1) % 4294967296; newSession(true); });
  $("add-layer").addEventListener("click", () => {
    if (page.hidden.length >= page.limits.hidden_layers[1]) return;
    page.hidden.push(2);
    newSession(true);
  });
  $("remove-layer").addEventListener("click", () => {
    page.hidden.pop();
    newSession(true);
  });
  for (const id of ["dataset", "noise", "test_fraction", "points", "activation", "optimizer", "lr", "l2", "batch_size"]) {
    $(id).addEventListener("change", () => newSession(true));
  }
  $("noise").addEventListener("input", () => { $("noise-value").textContent = $("noise").value; });
  $("test_fraction").addEventListener("input", () => { $("test-value").textContent = `${Math.round(100 * $("test_fraction").value)}%`; });
  $("show-test").addEventListener("change", () => { if (page.boundary) drawBoundary(page.boundary); });

  async function start() {
    const about = await numnet.api("GET", "/api/playground");
    page.defaults = about.defaults;
    page.limits = about.limits;
    fillSelect($("dataset"), about.limits.datasets);
    fillSelect($("activation"), about.limits.activations);
    fillSelect($("optimizer"), about.limits.optimizers);
    showSettings(about.defaults);
    await newSession(false);
  }

  // free the session when the page goes away (the server would free it anyway once idle)
  window.addEventListener("pagehide", () => {
    if (page.session) fetch(`/api/playground/${page.session}`, { method: "DELETE", keepalive: true });
  });

  start();
})();
