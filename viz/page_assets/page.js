// The explorer page's script: it reads the numbers Python computed (the JSON above) and
// shows and hides; it never works out a reach from a truncation's rules.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("explorer-data").textContent);
  var graph = document.getElementById("graph");
  var nodeCount = data.nodes.length, edgeCount = data.edges.length;
  var nodeEls = new Array(nodeCount).fill(null), edgeEls = new Array(edgeCount).fill(null);
  Array.prototype.forEach.call(graph.querySelectorAll("g.node[data-n]"), function (el) {
    nodeEls[Number(el.getAttribute("data-n"))] = el;
  });
  Array.prototype.forEach.call(graph.querySelectorAll("g.edge[data-e]"), function (el) {
    edgeEls[Number(el.getAttribute("data-e"))] = el;
  });
  var termIndex = new Map(data.terms.map(function (node, i) { return [node, i]; }));
  var nodeByName = new Map(data.nodes.map(function (name, i) { return [name, i]; }));
  var policyByName = new Map(data.policies.map(function (p, i) { return [p.name, i]; }));
  var paramCount = data.parameters.length;
  var withGrad = flags(data.requiresGrad, nodeCount);

  var state = { policy: 0, term: -1, frontier: null, timer: null, message: "" };

  // ---- unpacking -------------------------------------------------------------------------
  function floats(b64) {
    var bytes = atob(b64), view = new DataView(new ArrayBuffer(bytes.length));
    for (var i = 0; i < bytes.length; i++) view.setUint8(i, bytes.charCodeAt(i));
    var out = new Float32Array(bytes.length / 4);
    for (var j = 0; j < out.length; j++) out[j] = view.getFloat32(4 * j, true);
    return out;
  }
  function flags(runs, size) {
    var out = new Uint8Array(size);
    for (var i = 0; i < runs.length; i += 2) out.fill(1, runs[i], runs[i] + runs[i + 1]);
    return out;
  }
  function members(runs) {
    var out = [];
    for (var i = 0; i < runs.length; i += 2)
      for (var k = 0; k < runs[i + 1]; k++) out.push(runs[i] + k);
    return out;
  }
  function gradCount(runs) {       // reached nodes that have a gradient norm stored
    var total = 0;
    for (var i = 0; i < runs.length; i += 2)
      for (var k = runs[i]; k < runs[i] + runs[i + 1]; k++) total += withGrad[k];
    return total;
  }
  function lagTable(packed) {
    var offsets = [0];
    for (var i = 0; i < packed.lengths.length; i++) offsets.push(offsets[i] + packed.lengths[i]);
    return { lengths: packed.lengths, offsets: offsets, values: floats(packed.values),
             summary: floats(packed.summary), overall: floats(packed.overall) };
  }
  var unpacked = [], references = [];
  function policy(i) {
    if (!unpacked[i]) {
      var p = data.policies[i], offsets = [0];
      for (var t = 0; t < p.reach.length; t++) offsets.push(offsets[t] + gradCount(p.reach[t][0]));
      unpacked[i] = { raw: p, values: floats(p.valueNorms), grads: floats(p.gradNorms),
                      termNorms: floats(p.termNorms), termOffsets: offsets,
                      lags: { terms: lagTable(p.lags.terms), whole: lagTable(p.lags.whole) },
                      dropped: flags(p.dropped, edgeCount), absent: flags(p.absent, nodeCount) };
    }
    return unpacked[i];
  }
  function reference(i) {
    if (!references[i]) {
      var r = data.references[i];
      references[i] = { terms: lagTable(r.terms), whole: lagTable(r.whole) };
    }
    return references[i];
  }

  // ---- numbers as text -------------------------------------------------------------------
  function num(x) {
    if (x === null || x === undefined || isNaN(x)) return "\u2013";
    if (x === 0) return "0";
    var a = Math.abs(x);
    return (a >= 1e4 || a < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(3)));
  }
  function percent(x) { return isNaN(x) ? "\u2013" : (100 * x).toFixed(1) + "%"; }
  function termName(t) { return data.nodes[data.terms[t]]; }
  function stepsText(list) {
    if (!list.length) return "no step";
    var lo = list[0], hi = list[list.length - 1];
    return lo === hi ? "step " + lo : "steps " + lo + "\u2013" + hi;
  }

  // ---- what is shown ---------------------------------------------------------------------
  function reachOf(t) {
    var r = data.policies[state.policy].reach[t];
    return { nodes: flags(r[0], nodeCount), edges: flags(r[1], edgeCount),
             dropped: flags(r[2], edgeCount), nodeList: members(r[0]), droppedList: members(r[2]) };
  }
  function earliestStep(nodeList) {
    var lo = Infinity;
    nodeList.forEach(function (n) { if (data.steps[n] >= 0) lo = Math.min(lo, data.steps[n]); });
    return lo;
  }
  // the classes each element shows, as bits: only elements whose bits change are touched,
  // which keeps a click at T = 1000 (10,000 elements) to the few hundred that change
  var REACHED = 1, UNREACHED = 2, DROPPED = 4, SELECTED = 8, FRONTIER = 16;
  var NAMES = [[REACHED, "reached"], [UNREACHED, "unreached"], [DROPPED, "dropped"],
               [SELECTED, "selected"], [FRONTIER, "frontier"]];
  var nodeShown = new Uint8Array(nodeCount), edgeShown = new Uint8Array(edgeCount);
  function show(el, shown, i, code) {
    if (!el || shown[i] === code) return;
    NAMES.forEach(function (bit) {
      if ((shown[i] ^ code) & bit[0]) el.classList.toggle(bit[1], (code & bit[0]) !== 0);
    });
    shown[i] = code;
  }

  function apply() {
    var p = policy(state.policy), t = state.term;
    var nodeOn = null, edgeOn = null, dropped = p.dropped, i;
    if (t >= 0) {
      var r = reachOf(t);
      nodeOn = r.nodes; edgeOn = r.edges; dropped = r.dropped;
      if (state.frontier !== null) {            // playing: the steps reached so far
        for (i = 0; i < nodeCount; i++)
          if (nodeOn[i] && data.steps[i] >= 0 && data.steps[i] < state.frontier) nodeOn[i] = 0;
        for (i = 0; i < edgeCount; i++)
          if (edgeOn[i] && !(nodeOn[data.edges[i][0]] && nodeOn[data.edges[i][1]])) edgeOn[i] = 0;
        dropped = new Uint8Array(edgeCount);
      }
    }
    for (i = 0; i < nodeCount; i++) {
      var code = nodeOn === null ? 0 : nodeOn[i] === 1 ? REACHED : UNREACHED;
      if (t >= 0 && i === data.terms[t]) code |= SELECTED;
      if (state.frontier !== null && nodeOn[i] === 1 && data.steps[i] === state.frontier)
        code |= FRONTIER;
      show(nodeEls[i], nodeShown, i, code);
    }
    for (i = 0; i < edgeCount; i++) {
      var edgeCode = edgeOn === null ? 0 : edgeOn[i] === 1 ? REACHED : UNREACHED;
      show(edgeEls[i], edgeShown, i, edgeCode | (dropped[i] === 1 ? DROPPED : 0));
    }
    graph.setAttribute("data-policy", p.raw.name);
    graph.setAttribute("data-term", t >= 0 ? termName(t) : "");
    graph.setAttribute("data-frontier", state.frontier === null ? "" : String(state.frontier));
    showControls();
    showStatus();
    showLags();
  }

  function showControls() {
    document.getElementById("term").value = String(state.term + 1);
    document.getElementById("term-name").textContent =
      state.term >= 0 ? termName(state.term) : "R (all terms)";
    document.getElementById("step").disabled = state.term < 0;
    document.getElementById("play").disabled = state.term < 0;
    document.getElementById("play").textContent = state.timer ? "\u25a0 stop" : "\u25b6 play";
    Array.prototype.forEach.call(document.querySelectorAll("#policies input"), function (input) {
      input.checked = Number(input.value) === state.policy;
    });
  }

  function showStatus() {
    var p = data.policies[state.policy], text;
    if (state.term < 0) {
      text = "The whole loss R under " + p.name + ". " + (p.perTermCuts
        ? "This truncation cuts in another place for each loss term: pick one (click R[t])."
        : "Pick a loss term R[t] (click it, or use the slider or the arrow keys).");
    } else {
      var r = reachOf(state.term), name = termName(state.term);
      var steps = r.nodeList.map(function (n) { return data.steps[n]; })
        .filter(function (s) { return s >= 1; });
      steps = Array.from(new Set(steps)).sort(function (a, b) { return a - b; });
      var stops = r.droppedList.map(function (e) {
        return data.nodes[data.edges[e][0]] + " \u2192 " + data.nodes[data.edges[e][1]];
      });
      var lags = policy(state.policy).lags.terms;
      var kept = lags.overall[2 * state.term + 1];
      if (state.frontier !== null) {
        text = "Backward from " + name + " under " + p.name + ": at step " + state.frontier + ".";
      } else {
        text = name + " under " + p.name + ": its gradient reaches " + stepsText(steps) +
          (stops.length ? "; it stops at " + stops.join(", ") + " (dropped)." : ".") +
          " It keeps " + percent(kept) + " of full BPTT's d" + name + "/dW (all weights).";
      }
    }
    if (state.message) text = state.message + " " + text;
    document.getElementById("status").textContent = text;
  }

  // ---- dR[t]/dW by lag -------------------------------------------------------------------
  var SVGNS = "http://www.w3.org/2000/svg";
  function svgEl(name, attrs) {
    var el = document.createElementNS(SVGNS, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }
  function lagValues(table, row) {
    var start = table.offsets[row];
    return Array.prototype.slice.call(table.values, start, start + table.lengths[row]);
  }
  function bars(policyLags, fullLags, label, count) {
    var w = 8, h = 46;
    var all = policyLags.concat(fullLags).filter(function (v) { return v > 0; });
    var top = all.length ? Math.max.apply(null, all) : 1, floor = top * 1e-6;
    function height(v) {       // a log scale over six decades: vanishing gradients stay visible
      return v > floor ? Math.max(1, h * (Math.log(v / floor) / Math.log(top / floor))) : 0;
    }
    var chart = svgEl("svg", { width: count * (2 * w + 2) + 4, height: h + 12, "class": "bars" });
    for (var k = 0; k < count; k++) {
      var older = k === data.maxLags ? "lag \u2265 " + k : "lag " + k;
      [[fullLags[k] || 0, "full", 0], [policyLags[k] || 0, "policy", w]].forEach(function (bar) {
        var rect = svgEl("rect", { x: 2 + k * (2 * w + 2) + bar[2], y: h - height(bar[0]),
                                   width: w, height: height(bar[0]), "class": bar[1] });
        var tip = svgEl("title", {});
        tip.textContent = older + ": " + (bar[1] === "full" ? "full BPTT " : label + " ") +
          num(bar[0]);
        rect.appendChild(tip);
        chart.appendChild(rect);
      });
    }
    var axis = svgEl("text", { x: 2, y: h + 10 });
    axis.textContent = "lag 0 \u2192 " + (count - 1) + (count > data.maxLags ? "+" : "");
    chart.appendChild(axis);
    return chart;
  }
  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }
  function showLags() {
    var p = policy(state.policy), ref = reference(p.raw.reference), t = state.term;
    var mine = t >= 0 ? p.lags.terms : p.lags.whole, full = t >= 0 ? ref.terms : ref.whole;
    var base = t >= 0 ? t * paramCount : 0, overall = t >= 0 ? 2 * t : 0;
    var of = t >= 0 ? termName(t) : "R";
    document.getElementById("lags-title").textContent = "d" + of + "/dW by lag under " +
      p.raw.name + " (blue) next to full BPTT (grey)";
    var table = document.getElementById("lag-table"), count = 1;
    data.parameters.forEach(function (_, j) {
      count = Math.max(count, mine.lengths[base + j], full.lengths[base + j]);
    });
    while (table.firstChild) table.removeChild(table.firstChild);
    var head = document.createElement("tr");
    ["weight", "|full BPTT|", "|" + p.raw.name + "|", "kept", "outside steps", "by lag t \u2212 s"]
      .forEach(function (text) {
        var th = document.createElement("th");
        th.textContent = text;
        head.appendChild(th);
      });
    table.appendChild(head);
    data.parameters.forEach(function (name, j) {
      var row = document.createElement("tr"), i = base + j;
      cell(row, name, "name");
      cell(row, num(full.summary[3 * i]));
      cell(row, num(mine.summary[3 * i]));
      cell(row, percent(mine.summary[3 * i + 1]));
      cell(row, num(mine.summary[3 * i + 2]));
      cell(row, "", "chart").appendChild(bars(lagValues(mine, i), lagValues(full, i),
                                              p.raw.name, count));
      table.appendChild(row);
    });
    var all = document.createElement("tr");
    all.className = "overall";
    cell(all, "all weights", "name");
    cell(all, num(full.overall[overall]));
    cell(all, num(mine.overall[overall]));
    cell(all, percent(mine.overall[overall + 1]));
    cell(all, ""); cell(all, "");
    table.appendChild(all);
  }

  // ---- hover -----------------------------------------------------------------------------
  var hover = document.getElementById("hover");
  function describe(n) {
    var p = policy(state.policy), lines = [data.nodes[n] + "   " + data.shapes[n]];
    if (p.absent[n]) return lines.concat(["not in the " + p.raw.name + " recording"]).join("\n");
    lines.push("|value| " + num(p.values[n]));
    if (!withGrad[n]) {
      lines.push("no gradient: it requires none");
    } else if (state.term >= 0) {
      var name = termName(state.term), reached = members(p.raw.reach[state.term][0]);
      var at = -1, seen = 0;
      for (var i = 0; i < reached.length && at < 0; i++) {
        if (reached[i] === n) at = seen;
        seen += withGrad[reached[i]];
      }
      lines.push("|d" + name + "/d" + data.nodes[n] + "| " +
        (at < 0 ? "0: not reached" : num(p.termNorms[p.termOffsets[state.term] + at])));
    } else {
      lines.push(isNaN(p.grads[n]) ? "no gradient: it requires none"
        : "|dR/d" + data.nodes[n] + "| " + num(p.grads[n]));
    }
    return lines.join("\n");
  }
  graph.addEventListener("mouseover", function (event) {
    var el = event.target.closest ? event.target.closest("g.node[data-n]") : null;
    if (!el) return;
    hover.textContent = describe(Number(el.getAttribute("data-n")));
    hover.hidden = false;
    el.classList.add("hovered");
  });
  graph.addEventListener("mousemove", function (event) {
    hover.style.left = Math.min(event.clientX + 14, window.innerWidth - 280) + "px";
    hover.style.top = (event.clientY + 14) + "px";
  });
  graph.addEventListener("mouseout", function (event) {
    var el = event.target.closest ? event.target.closest("g.node[data-n]") : null;
    if (el) el.classList.remove("hovered");
    hover.hidden = true;
  });

  // ---- choosing --------------------------------------------------------------------------
  function stopPlaying() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
    state.frontier = null;
  }
  function select(t, scroll) {
    stopPlaying();
    state.term = t;
    state.message = "";
    apply();
    writeHash();
    if (scroll && t >= 0 && nodeEls[data.terms[t]])
      nodeEls[data.terms[t]].scrollIntoView({ block: "nearest", inline: "center" });
  }
  function choosePolicy(i) {
    stopPlaying();
    state.policy = i;
    state.message = "";
    apply();
    writeHash();
  }
  function stepBack() {               // one step of the backward pass of the selected term
    if (state.term < 0) return;
    var r = reachOf(state.term), termStep = data.steps[data.terms[state.term]];
    var lo = earliestStep(r.nodeList);
    state.frontier = state.frontier === null ? termStep : state.frontier - 1;
    if (state.frontier <= lo || termStep < 0) {       // the policy stops it here: show it whole
      if (state.timer) clearInterval(state.timer);
      state.timer = null;
      state.frontier = null;
    }
    apply();
  }
  function play() {
    if (state.timer) { stopPlaying(); apply(); return; }
    state.frontier = null;
    stepBack();
    // ms per step back: 450, or less for long walks, so that one takes six seconds at most
    var walk = state.frontier - earliestStep(reachOf(state.term).nodeList);
    var pause = Number(graph.getAttribute("data-play-ms")) ||
      Math.max(40, Math.min(450, 6000 / Math.max(1, walk)));
    if (state.frontier !== null) state.timer = setInterval(stepBack, pause);
    apply();
  }

  function encode(text) { return text.replace(/[%&#\s]/g, encodeURIComponent); }
  function decode(text) { try { return decodeURIComponent(text); } catch (e) { return text; } }
  function shortened(text) {     // a name from the URL, as the status line shows it: short
    if (!text) return "(an empty name)";
    return text.length > 60 ? text.slice(0, 60) + "\u2026 (" + text.length + " characters)"
      : text;
  }
  function writeHash() {
    var term = state.term >= 0 ? encode(termName(state.term)) : "";
    var hash = "#" + term + (term ? "&" : "") + "policy=" + encode(data.policies[state.policy].name);
    try { history.replaceState(null, "", hash); } catch (e) { /* a sandboxed frame */ }
  }
  function readHash() {
    var hash = location.hash.slice(1), term = hash, name = null, notes = [];
    if (!hash) return;
    var at = hash.lastIndexOf("&policy=");
    if (at >= 0) { term = hash.slice(0, at); name = hash.slice(at + 8); }
    else if (hash.indexOf("policy=") === 0) { term = ""; name = hash.slice(7); }
    stopPlaying();
    if (name !== null) {
      name = decode(name);
      if (policyByName.has(name)) state.policy = policyByName.get(name);
      else notes.push("This page holds no recording under " + shortened(name) + " (it holds " +
                      data.policies.map(function (p) { return p.name; }).join(", ") + ").");
    }
    term = decode(term);
    if (term) {
      var node = nodeByName.get(term);
      if (node !== undefined && termIndex.has(node)) state.term = termIndex.get(node);
      else notes.push("No loss term " + shortened(term) + " on this page (R[t] with t = 1.." +
                      data.terms.length + ").");
    }
    apply();
    state.message = notes.join(" ");
    showStatus();
    if (state.term >= 0 && nodeEls[data.terms[state.term]])
      nodeEls[data.terms[state.term]].scrollIntoView({ block: "nearest", inline: "center" });
  }

  // ---- wiring ----------------------------------------------------------------------------
  var fieldset = document.getElementById("policies");
  data.policies.forEach(function (p, i) {
    var label = document.createElement("label"), input = document.createElement("input");
    input.type = "radio";
    input.name = "policy";
    input.value = String(i);
    input.setAttribute("data-policy", p.name);
    input.addEventListener("change", function () { choosePolicy(i); });
    label.appendChild(input);
    label.appendChild(document.createTextNode(" " + p.name));
    fieldset.appendChild(label);
  });
  var slider = document.getElementById("term");
  slider.max = String(data.terms.length);
  slider.addEventListener("input", function () { select(Number(slider.value) - 1, true); });
  document.getElementById("clear").addEventListener("click", function () { select(-1, false); });
  document.getElementById("step").addEventListener("click", function () {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    stepBack();
  });
  document.getElementById("play").addEventListener("click", play);
  graph.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("g.node[data-n]") : null;
    if (!el) return;
    var node = Number(el.getAttribute("data-n"));
    if (termIndex.has(node)) select(termIndex.get(node), false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var last = data.terms.length - 1, onSlider = event.target === slider;  // it has its own keys
    if (event.key === "Escape") select(-1, false);
    else if (event.key === "ArrowRight" && !onSlider)
      select(state.term < 0 ? 0 : Math.min(last, state.term + 1), true);
    else if (event.key === "ArrowLeft" && !onSlider)
      select(state.term < 0 ? last : Math.max(0, state.term - 1), true);
    else return;
    event.preventDefault();
  });
  window.addEventListener("hashchange", readHash);

  apply();
  readHash();
  document.documentElement.setAttribute("data-ready-ms", performance.now().toFixed(1));
  document.documentElement.setAttribute("data-ready", "true");
  requestAnimationFrame(function () {         // the frame after this one: the page is painted
    requestAnimationFrame(function () {
      document.documentElement.setAttribute("data-painted-ms", performance.now().toFixed(1));
    });
  });
})();
