// numnet serve, "Runs": the run folders under --runs, and one run's pictures, history and settings.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  // the pictures a run folder may hold, in the order shown
  const MAIN_PICTURES = {
    "curves.png": "loss and accuracy per epoch",
    "confusion_matrix.png": "confusion matrix of the test digits",
  };
  const MORE_PICTURES = {
    "misclassified.png": "misclassified test digits",
    "first_layer_weights.png": "first layer's weights",
    "first_layer_filters.png": "first layer's filters",
    "feature_maps.png": "feature maps of a test digit",
  };

  const fileUrl = (run, name) => `/api/runs/${encodeURIComponent(run)}/files/${encodeURIComponent(name)}`;

  function cell(text, numeric) {
    return numnet.el("td", { class: numeric ? "num" : "", text: text === null || text === undefined ? "–" : String(text) });
  }

  async function showList(selected) {
    const listing = await numnet.api("GET", "/api/runs");
    $("root").textContent = listing.root;
    const body = $("run-list");
    body.innerHTML = "";
    $("no-runs").hidden = listing.runs.length > 0;
    for (const run of listing.runs) {
      const row = numnet.el("tr", { "data-run": run.name, onclick: () => select(run.name) },
        cell(run.name), cell(run.dataset), cell(run.model), cell(run.epochs, true), cell(numnet.percent(run.test_accuracy), true));
      body.append(row);
    }
    const first = selected || (listing.runs[0] && listing.runs[0].name);
    if (first) select(first);
  }

  async function select(name) {
    for (const row of $("run-list").children) row.classList.toggle("selected", row.dataset.run === name);
    let run;
    try {
      run = await numnet.api("GET", `/api/runs/${encodeURIComponent(name)}`);
    } catch (error) {
      $("run").hidden = false;
      $("run-name").textContent = name;
      $("run-summary").textContent = error.message;
      return;
    }
    history.replaceState(null, "", `/runs?run=${encodeURIComponent(name)}`);
    $("run").hidden = false;
    $("run-name").textContent = run.name;
    const settings = run.config.config || {};
    const parts = [run.dataset, run.model, settings.hidden && run.model !== "cnn" ? `hidden ${settings.hidden.join("-")}` : null,
      settings.optimizer ? `${settings.optimizer} lr ${settings.lr}` : null,
      run.test_accuracy !== null ? `test accuracy ${numnet.percent(run.test_accuracy)}` : "no model yet"];
    $("run-summary").textContent = parts.filter(Boolean).join(" · ");
    $("look-inside").hidden = $("download").hidden = !run.has_model;
    $("look-inside").href = `/?run=${encodeURIComponent(run.name)}`;
    $("download").href = fileUrl(run.name, "model.safetensors");

    const files = new Set(run.files.map((f) => f.name));
    const showPictures = (box, pictures) => {
      box.innerHTML = "";
      for (const [file, caption] of Object.entries(pictures)) {
        if (!files.has(file)) continue;
        box.append(numnet.el("figure", {},
          numnet.el("img", { src: fileUrl(run.name, file), alt: caption }),
          numnet.el("figcaption", { text: caption })));
      }
      box.hidden = box.children.length === 0;
    };
    showPictures($("pictures"), MAIN_PICTURES);
    showPictures($("more-pictures"), MORE_PICTURES);

    const table = $("history");
    table.innerHTML = "";
    const columns = Object.keys(run.history);
    if (columns.length) {
      table.append(numnet.el("tr", {}, ...columns.map((c) => numnet.el("th", { class: "num", text: c.replace("_", " ") }))));
      run.history[columns[0]].forEach((_, i) => {
        table.append(numnet.el("tr", {}, ...columns.map((c) => {
          const v = run.history[c][i];
          return cell(c === "epoch" ? v : (v === null ? null : v.toFixed(4)), true);
        })));
      });
    } else {
      table.append(numnet.el("tr", {}, cell("no history.csv yet")));
    }

    const config = $("config");
    config.innerHTML = "";
    const shown = { ...settings };
    for (const key of ["dataset", "test_accuracy", "input"]) if (run.config[key] !== undefined) shown[key] = run.config[key];
    for (const [key, value] of Object.entries(shown)) {
      const text = Array.isArray(value) ? value.join(", ") : value === null ? "default" : String(value);
      config.append(numnet.el("tr", {}, numnet.el("th", { text: key }), cell(text)));
    }
  }

  showList(new URLSearchParams(location.search).get("run")).catch((error) => {
    $("no-runs").hidden = false;
    $("no-runs").textContent = error.message;
  });
})();
