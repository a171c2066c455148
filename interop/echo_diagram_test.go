package interop

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// updateScreenshots writes the screenshots of TestEchoDiagram into
// docs/echo/, where README.md shows them; without it they go to a
// temporary directory, so that a run leaves the tree as it was.
var updateScreenshots = flag.Bool("update-screenshots", false,
	"write TestEchoDiagram's screenshots into ../docs/echo/")

// diagramView is what the echo page's handshake section shows.
type diagramView struct {
	Title string `json:"title"`
	Rows  []struct {
		Dir   string `json:"dir"`   // "to-browser", "to-server" or "" for notes alone
		Label string `json:"label"` // the arrow's label
		B     string `json:"b"`     // the browser's note, time first
		S     string `json:"s"`     // the server's note, time first
	} `json:"rows"`
	States []string          `json:"states"` // the readyStates shown, in order
	Record map[string]string `json:"record"` // the server's CloseEvent, field by field
	Facts  []string          `json:"facts"`  // the server's facts as listed
}

// arrows lists the diagram's arrows top to bottom as "dir: label".
func (v diagramView) arrows() []string {
	var out []string
	for _, r := range v.Rows {
		if r.Dir != "" {
			out = append(out, r.Dir+": "+r.Label)
		}
	}
	return out
}

// browserNotes and serverNotes join each side's notes, top to bottom.
func (v diagramView) browserNotes() []string {
	var out []string
	for _, r := range v.Rows {
		if r.B != "" {
			out = append(out, r.B)
		}
	}
	return out
}

func (v diagramView) serverNotes() []string {
	var out []string
	for _, r := range v.Rows {
		if r.S != "" {
			out = append(out, r.S)
		}
	}
	return out
}

// readDiagramJS returns the handshake section as JSON once it is drawn
// for the case named %q, and "" until then.
const readDiagramJS = `(() => {
  const h = document.getElementById("handshake");
  if (h.dataset.state !== "drawn" || h.dataset.case !== %q) return "";
  const text = (e) => e ? Array.from(e.children, (c) => c.textContent).filter(Boolean).join(" | ") : "";
  return JSON.stringify({
    title: document.getElementById("hs-title").textContent,
    rows: Array.from(document.querySelectorAll("#diagram .lane.step"), (r) => ({
      dir: r.dataset.dir || "",
      label: (r.querySelector(".arrow .label") || {}).textContent || "",
      b: text(r.querySelector(".note.b")),
      s: text(r.querySelector(".note.s")),
    })),
    states: Array.from(document.querySelectorAll("#states .chip"), (c) => c.dataset.state),
    record: Object.fromEntries(Array.from(document.querySelectorAll("#record dd"), (d) => [d.dataset.field, d.textContent])),
    facts: Array.from(document.querySelectorAll("#record li .what"), (w) => w.textContent),
  });
})()`

// runCase clicks a close case's button, waits for its diagram and
// returns what it shows, after a screenshot of the section to file.
func runCase(t *testing.T, tab context.Context, name, file string) diagramView {
	t.Helper()
	click(t, tab, "case-"+name)
	js, err := chromedp.Run(tab, chromedp.Poll[string](fmt.Sprintf(readDiagramJS, name),
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(eventTimeout)))
	require.NoError(t, err, "waiting for the diagram of %s", name)
	var v diagramView
	require.NoError(t, json.Unmarshal([]byte(js), &v))
	t.Logf("%s: %s\narrows %q\nbrowser %q\nserver %q\nstates %q\nrecord %v\nfacts %q",
		name, v.Title, v.arrows(), v.browserNotes(), v.serverNotes(), v.States, v.Record, v.Facts)

	png, err := chromedp.Run(tab, chromedp.Screenshot(chromedp.ID("handshake")))
	require.NoError(t, err, "screenshot of %s", name)
	require.NoError(t, os.WriteFile(file, png, 0o644))
	return v
}

// Scenario 8b: the echo page's close cases, each from its button, with
// the sequence diagram the page draws of the closing handshake: the
// arrows in order, the browser's readyState passing CLOSING (or not),
// and the server's record of how the connection ended.
func TestEchoDiagram(t *testing.T) {
	requirePeer(t, chromium)
	p := startEchoProgram(t)
	dir := t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("..", "docs", "echo")
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	tab := newTab(t)
	require.NoError(t, chromedp.Do(tab,
		chromedp.EmulateViewport(1000, 1400),
		chromedp.Navigate("http://"+p.addr+"/")))
	shot := func(name string) string { return filepath.Join(dir, name+".png") }

	t.Run("close", func(t *testing.T) {
		setValue(t, tab, "code", "4001")
		setValue(t, tab, "reason", "bye")
		v := runCase(t, tab, "close", shot("close"))
		assert.Equal(t, []string{
			`to-browser: close 4001 "bye"`,
			`to-server: close 4001 "bye" (answer)`,
			"to-browser: TCP closed: FIN, server first",
		}, v.arrows())
		assert.Equal(t, []string{"CONNECTING", "OPEN", "CLOSING", "CLOSED"}, v.States)
		assert.Equal(t, map[string]string{"code": "4001 (private)", "reason": `"bye"`, "wasClean": "true",
			"initiator": "local", "cause": "none"}, v.Record)
		require.Len(t, v.Rows, 4)
		assert.Contains(t, v.Rows[0].S, `Close(4001, "bye") called`)
		assert.Contains(t, v.Rows[1].S, `ReadMessage: peer's close 4001 "bye"`)
		assert.Contains(t, v.Rows[3].S, "Close returned nil")
		assert.Contains(t, v.Rows[0].B, "readyState CLOSING")
		assert.Contains(t, v.Rows[2].S, "Done(): TCP closed")
		assert.Contains(t, v.Rows[2].B, `onclose 4001 "bye" wasClean=true`)
	})
	p.ended(t)

	t.Run("terminate", func(t *testing.T) {
		v := runCase(t, tab, "terminate", shot("terminate"))
		assert.Equal(t, []string{"to-browser: TCP dropped: no close frame"}, v.arrows())
		assert.Equal(t, []string{"CONNECTING", "OPEN", "CLOSED"}, v.States, "no close frame, no CLOSING")
		assert.Equal(t, map[string]string{"code": "1006 (abnormal closure)", "reason": `""`, "wasClean": "false",
			"initiator": "local", "cause": "ErrTerminated"}, v.Record)
		require.GreaterOrEqual(t, len(v.Rows), 2)
		assert.Contains(t, v.Rows[0].S, "Terminate()")
		assert.Contains(t, v.Rows[1].B, `onclose 1006 "" wasClean=false`)
	})
	p.ended(t)

	t.Run("peer-close", func(t *testing.T) {
		setValue(t, tab, "code", "4002")
		setValue(t, tab, "reason", "see you")
		v := runCase(t, tab, "peer-close", shot("peer-close"))
		assert.Equal(t, []string{
			`to-server: close 4002 "see you"`,
			`to-browser: close 4002 "see you" (answer)`,
			"to-browser: TCP closed: FIN, server first",
		}, v.arrows())
		assert.Equal(t, []string{"CONNECTING", "OPEN", "CLOSING", "CLOSED"}, v.States)
		assert.Equal(t, map[string]string{"code": "4002 (private)", "reason": `"see you"`, "wasClean": "true",
			"initiator": "peer", "cause": "none"}, v.Record)
		require.Len(t, v.Rows, 3)
		assert.Contains(t, v.Rows[0].B, `ws.close(4002, "see you"): readyState CLOSING`)
		assert.Contains(t, v.Rows[0].S, `ReadMessage: peer's close 4002 "see you"`)
		assert.Contains(t, v.Rows[2].B, `onclose 4002 "see you" wasClean=true`)
	})
	p.ended(t)

	t.Run("protocol-error", func(t *testing.T) {
		v := runCase(t, tab, "protocol-error", shot("protocol-error"))
		assert.Equal(t, []string{
			"to-server: text message, 1048577 bytes",
			`to-browser: close 1009 "message too big"`,
			"to-browser: TCP closed: FIN, server first",
		}, v.arrows())
		assert.Equal(t, []string{"CONNECTING", "OPEN", "CLOSING", "CLOSED"}, v.States)
		// The library fails the connection: it sends 1009 and closes TCP
		// without waiting for an answer, so its CloseEvent has no peer's
		// code and is not clean, while Chromium, which got the close
		// frame and then the FIN, reports a clean 1009.
		assert.Equal(t, map[string]string{"code": "1006 (abnormal closure)", "reason": `""`, "wasClean": "false",
			"initiator": "local", "cause": "ErrMessageTooBig"}, v.Record)
		require.Len(t, v.Rows, 3)
		assert.Contains(t, v.Rows[0].S, "ReadMessage: ErrMessageTooBig")
		assert.Contains(t, v.Rows[1].B, "readyState CLOSING")
		assert.Contains(t, v.Rows[2].B, `onclose 1009 "message too big" wasClean=true`)
	})
	p.ended(t)

	t.Run("close-timeout", func(t *testing.T) {
		setValue(t, tab, "code", "4003")
		setValue(t, tab, "reason", "too slow")
		v := runCase(t, tab, "close-timeout", shot("close-timeout"))
		assert.Equal(t, []string{
			"to-browser: binary message, 1048576 bytes",
			`to-browser: close 4003 "too slow"`,
			"to-browser: TCP closed: no answer in time",
		}, v.arrows())
		assert.Equal(t, map[string]string{"code": "1006 (abnormal closure)", "reason": `""`, "wasClean": "false",
			"initiator": "local", "cause": "ErrCloseTimeout"}, v.Record)
		require.Len(t, v.Rows, 6)
		assert.Contains(t, v.Rows[0].B, "main thread busy for 1500 ms")
		assert.Contains(t, v.Rows[1].S, "WriteMessage returned")
		assert.Contains(t, v.Rows[1].B, "onmessage: 1048576 bytes")
		assert.Contains(t, v.Rows[2].S, `Close(4003, "too slow") called`)
		// Close gives up once the short close timeout has passed.
		assert.Contains(t, v.Rows[3].S, "Close returned ErrCloseTimeout")
		assert.GreaterOrEqual(t, noteMs(t, v.Rows[3].S), 500.0)
		assert.Contains(t, v.Rows[4].S, "Done(): TCP closed")
		// Chromium reads the close frame and the FIN only once the page
		// runs again, too late for the server, and reports a clean close
		// with the server's code.
		assert.Contains(t, v.Rows[4].B, `onclose 4003 "too slow" wasClean=true`)
		assert.Contains(t, v.Rows[5].S, "ReadMessage: 1006, ErrCloseTimeout")
		assert.Equal(t, "CLOSED", v.States[len(v.States)-1])
	})
	p.ended(t)
}

// noteMs reads the time a note begins with, such as "+501 ms | ...".
func noteMs(t *testing.T, note string) float64 {
	t.Helper()
	at, _, _ := strings.Cut(note, " ms")
	ms, err := strconv.ParseFloat(strings.Replace(at, "\u2212", "-", 1), 64)
	require.NoError(t, err, "the time of note %q", note)
	return ms
}
