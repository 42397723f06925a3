// numnet serve: helpers shared by the three pages (JSON requests, colours, small DOM helpers).
"use strict";

const numnet = {};

// A JSON request; resolves to the parsed answer, rejects with an Error carrying the server's message.
numnet.api = async function (method, url, body, contentType) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    if (contentType) {
      options.headers["Content-Type"] = contentType;
      options.body = body;
    } else {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
  }
  const response = await fetch(url, options);
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
};

// Diverging colour for v in [-1, 1]: blue for negative, near-white for 0, orange for positive.
numnet.diverging = function (v) {
  const t = Math.max(-1, Math.min(1, v || 0));
  const white = [246, 248, 250];
  const end = t < 0 ? [28, 126, 214] : [232, 89, 12];
  const a = Math.abs(t);
  return [0, 1, 2].map((i) => Math.round(white[i] + (end[i] - white[i]) * a));
};

// The largest absolute value of a (nested) array, at least `floor` (so that all-zero data stays pale).
numnet.maxAbs = function (values, floor) {
  let m = floor || 1e-6;
  const walk = (x) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && Math.abs(x) > m) m = Math.abs(x);
  };
  walk(values);
  return m;
};

// Paint a 2-D array onto a canvas of its own size, one pixel per value, with colour(value) -> [r, g, b].
numnet.paintGrid = function (canvas, rows, colour) {
  const h = rows.length, w = rows[0].length;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = colour(rows[y][x]);
      const i = 4 * (y * w + x);
      image.data[i] = r; image.data[i + 1] = g; image.data[i + 2] = b; image.data[i + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
};

// Rows of a flat array.
numnet.reshape = function (flat, h, w) {
  const rows = [];
  for (let y = 0; y < h; y++) rows.push(flat.slice(y * w, (y + 1) * w));
  return rows;
};

numnet.el = function (tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};

numnet.percent = (p) => (p === null || p === undefined ? "–" : `${(100 * p).toFixed(1)}%`);
numnet.fixed = (v, digits) => (v === null || v === undefined ? "–" : v.toFixed(digits === undefined ? 3 : digits));
