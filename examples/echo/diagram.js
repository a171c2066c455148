// diagram.js draws how a connection ended as a small sequence diagram:
// the browser's lifeline on the left, the server's on the right, one row
// per step, each with the time each side saw it.
//
// Neither side can see frames. The browser gives the page its events
// (close(), onmessage, onclose) and a readyState the page polls; the
// server's record (GET /record) holds what the echo handler saw through
// the library's API: its own calls, ReadMessage's error, Done and the
// CloseEvent. An arrow joins the fact that shows a frame left one side
// to the fact that shows it reached the other; an arrow drawn dashed is
// a frame neither application saw go, known only from what followed.
// Each side's times are its own clock's, from its first closing fact.
"use strict";

// The kinds of browser facts that belong to the end: the first one is the
// browser's time zero.
const browserClosingKinds = new Set(["close-call", "closing", "error", "closed"]);

// zeroOf returns the time of the first closing fact, or of the first fact.
function zeroOf(facts) {
  const first = facts.find((f) => browserClosingKinds.has(f.kind)) || facts[0];
  return first ? first.t : 0;
}

function ms(x) {
  if (x === undefined || x === null) return "";
  const sign = x < 0 ? "\u2212" : "+";
  const a = Math.abs(x);
  return sign + (a < 10 ? a.toFixed(1) : Math.round(a).toString()) + " ms";
}

function quoted(s) {
  return JSON.stringify(s || "");
}

// buildSteps turns the browser's facts and the server's record into the
// rows of the diagram. A row has at most a browser note (b), a server
// note (s) and an arrow (dir "to-server" or "to-browser", label, dashed).
// A note is { at, text, src }; at is undefined when that side has no time
// for it.
function buildSteps(browserFacts, rec) {
  const bZero = zeroOf(browserFacts);
  const used = new Set();
  const bf = (kind) => browserFacts.find((f) => f.kind === kind && !used.has(f));
  const sf = (kind) => rec.facts.find((f) => f.kind === kind && !used.has(f));
  const bNote = (f, text, src) => {
    if (!f) return null;
    used.add(f);
    return { at: f.t - bZero, text: text || f.text, src: src || f.src };
  };
  const sNote = (f, text) => {
    if (!f) return null;
    used.add(f);
    return { at: f.atMs, text: text || f.text, src: f.source };
  };
  const ev = rec.event || {};
  const closed = bf("closed");
  const sClose = rec.facts.find((f) => f.kind === "close-call" && f.closing);
  const sTerm = sf("terminate");
  const bCall = bf("close-call");
  const failed = !sClose && !sTerm && !bCall && ev.initiator === "local";
  const rows = [];

  // What came before the end: a message that fails the connection, a
  // flood, a main thread kept busy.
  const block = bf("block");
  if (block) rows.push({ b: bNote(block) });
  const flood = sf("flood");
  if (flood) {
    rows.push({
      dir: "to-browser", label: flood.text.replace(/^a (\d+)-byte binary message written$/, "binary message, $1 bytes"),
      s: sNote(flood, "WriteMessage returned"),
      b: bNote(bf("flood-received"), null),
    });
  }

  const readEnd = sf("read-end");
  if (sClose) {
    // Our close frame, then the peer's answer.
    used.add(sClose);
    const closing = bf("closing");
    rows.push({
      dir: "to-browser", label: `close ${sClose.code} ${quoted(sClose.reason)}`,
      s: sNote(sClose), b: closing ? bNote(closing, "readyState CLOSING") : { text: "CLOSING not observed", src: "readyState went from OPEN to CLOSED" },
    });
    if (readEnd && readEnd.code && readEnd.code !== 1006) {
      rows.push({
        dir: "to-server", dashed: true, label: `close ${readEnd.code} ${quoted(readEnd.reason)} (answer)`,
        b: { text: "Chromium answers on its own", src: "not seen by the page" },
        s: sNote(readEnd, readEndText(readEnd)),
      });
      const done = rec.facts.find((f) => f.kind === "done");
      if (done && done.atMs < readEnd.atMs) rows[rows.length - 1].s.src += ", returned after Done";
    } else {
      const ret = sf("close-return");
      if (ret) rows.push({ s: sNote(ret, `Close returned ${ret.cause || "nil"}`) });
    }
  } else if (bCall) {
    // The browser's close frame, answered by the library.
    rows.push({
      dir: "to-server", label: bCall.frame,
      b: bNote(bCall, `${bCall.text}: readyState CLOSING`),
      s: readEnd ? sNote(readEnd, readEndText(readEnd)) : null,
    });
    if (ev.code && ev.code !== 1006) {
      rows.push({
        dir: "to-browser", dashed: true, label: `close ${ev.code} ${quoted(ev.reason)} (answer)`,
        s: { text: "the library answers inside ReadMessage", src: "not seen by the handler" },
      });
    }
  } else if (failed) {
    // The library failed the connection on what the peer sent: it sent a
    // close frame with the code, which only the browser reports.
    const big = bf("send-big");
    rows.push({
      dir: "to-server", label: big ? big.frame : "data",
      b: bNote(big), s: readEnd ? sNote(readEnd, readEndText(readEnd)) : null,
    });
    const closing = bf("closing");
    rows.push({
      dir: "to-browser", dashed: true, label: closed ? `close ${closed.code} ${quoted(closed.reason)}` : "close",
      s: { text: "the library fails the connection", src: "not seen by the handler; the code as the browser got it" },
      b: closing ? bNote(closing, "readyState CLOSING") : { text: "CLOSING not observed", src: "readyState went from OPEN to CLOSED" },
    });
    if (ev.code && ev.code !== 1006) {
      rows.push({
        dir: "to-server", dashed: true, label: `close ${ev.code} ${quoted(ev.reason)} (answer)`,
        b: { text: "Chromium answers on its own", src: "not seen by the page" },
        s: { text: `CloseEvent.Code ${ev.code}: the answer came`, src: "CloseEvent()" },
      });
    }
  } else if (sTerm) {
    rows.push({ s: sNote(sTerm) });
  }

  // TCP: closed by the server, or dropped.
  const done = sf("done");
  let tcpLabel = "TCP closed: FIN, server first";
  if (sTerm) tcpLabel = "TCP dropped: no close frame";
  else if (ev.cause === "ErrCloseTimeout") tcpLabel = "TCP closed: no answer in time";
  else if (ev.initiator === "peer" && ev.code === 1006) tcpLabel = "TCP closed";
  const tcpFromBrowser = ev.initiator === "peer" && ev.code === 1006;
  rows.push({
    dir: tcpFromBrowser ? "to-server" : "to-browser", label: tcpLabel, tcp: true,
    s: sNote(done, "Done(): TCP closed"),
    b: closed ? bNote(closed) : null,
  });

  // What is left: Close's return, ReadMessage's error when it came after.
  const rest = rec.facts.filter((f) => !used.has(f) && f.closing);
  for (const f of rest) {
    let text = f.text;
    if (f.kind === "read-end") text = readEndText(f);
    if (f.kind === "close-return") text = `Close returned ${f.cause || "nil"}`;
    rows.push({ s: sNote(f, text) });
  }
  return rows;
}

// readEndText says briefly what ReadMessage's final error was: the
// peer's close frame, or the sentinel error of why the connection ended.
function readEndText(f) {
  if (f.code && f.code !== 1006) return `ReadMessage: peer's close ${f.code} ${quoted(f.reason)}`;
  const code = f.code ? `${f.code}, ` : "";
  return `ReadMessage: ${code}${f.cause || f.text}`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function noteCell(side, note) {
  const cell = el("div", `note ${side}`);
  if (!note) return cell;
  cell.classList.add("has");
  const when = el("span", "at", note.at === undefined ? "" : ms(note.at));
  cell.append(when, el("span", "what", note.text));
  if (note.src) cell.append(el("span", "src", note.src));
  return cell;
}

// drawDiagram fills box with the rows, under two actors.
function drawDiagram(box, rows) {
  box.textContent = "";
  const head = el("div", "lane head");
  head.append(el("div", "note b actor", "Browser"), el("div", "life b"), el("div", "mid"),
    el("div", "life s"), el("div", "note s actor", "Server"));
  box.append(head);
  for (const r of rows) {
    const row = el("div", "lane step");
    const mid = el("div", "mid");
    if (r.dir) {
      row.dataset.dir = r.dir;
      const arrow = el("div", `arrow ${r.dir}` + (r.dashed ? " dashed" : "") + (r.tcp ? " tcp" : ""));
      arrow.append(el("span", "label", r.label));
      mid.append(arrow);
    }
    row.append(noteCell("b", r.b), el("div", "life b" + (r.b ? " dot" : "")), mid,
      el("div", "life s" + (r.s ? " dot" : "")), noteCell("s", r.s));
    box.append(row);
  }
}

// drawRecord shows the server's record as /record served it.
function drawRecord(box, rec) {
  box.textContent = "";
  const ev = rec.event;
  const dl = el("dl", "event");
  const add = (k, v, cls) => {
    dl.append(el("dt", "", k));
    const dd = el("dd", cls || "", v);
    dd.dataset.field = k;
    dl.append(dd);
  };
  box.append(el("h3", "", "Server's CloseEvent"));
  if (ev) {
    add("code", ev.codeText);
    add("reason", quoted(ev.reason));
    add("wasClean", String(ev.wasClean), ev.wasClean ? "yes" : "no");
    add("initiator", ev.initiator);
    add("cause", ev.cause || (ev.err ? ev.err : "none"), ev.cause ? "no" : "");
  } else {
    add("ended", "not within the server's wait", "no");
  }
  box.append(dl);
  box.append(el("h3", "", "Server's facts"));
  const ol = el("ol", "facts");
  for (const f of rec.facts) {
    const li = el("li", f.closing ? "" : "before");
    li.append(el("span", "at", ms(f.atMs)), el("span", "what", f.text), el("span", "src", f.source));
    ol.append(li);
  }
  box.append(ol);
}

// drawStates shows the browser's readyState changes with their times.
function drawStates(box, states, browserFacts) {
  const zero = zeroOf(browserFacts);
  box.textContent = "";
  box.append(el("span", "k", "readyState"));
  states.forEach((s, i) => {
    if (i > 0) box.append(el("span", "sep", "\u2192"));
    const chip = el("span", `chip ${s.state.toLowerCase()}`);
    chip.dataset.state = s.state;
    chip.append(el("b", "", s.state), el("span", "at", ms(s.t - zero)));
    box.append(chip);
  });
}
