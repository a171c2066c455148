package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// chatPage is page.html in a browser tab, driven as a person would: by its
// inputs and buttons. What the test asserts it reads from the page's DOM.
type chatPage struct {
	name string
	tab  context.Context
}

// pageView is what the page shows, read from its DOM.
type pageView struct {
	State    string   `json:"state"`    // the connection's badge: open, connecting, closed
	Members  []string `json:"members"`  // the Members list
	Messages []string `json:"messages"` // the Messages lines, "from: text" or "name joined"
	Log      []string `json:"log"`      // the Connection log, each line after its time
}

// viewJS reads a pageView from the DOM. The log's lines start with the
// time and two spaces, which are dropped.
const viewJS = `(() => {
  const texts = (sel) => Array.from(document.querySelectorAll(sel), (e) => e.textContent);
  return {
    state: document.getElementById("state").textContent,
    members: texts("#members li"),
    messages: texts("#messages div"),
    log: texts("#closes div").map((l) => l.includes("  ") ? l.slice(l.indexOf("  ") + 2) : l),
  };
})()`

// openPage loads the chat page from pageURL in a new tab of browser, for
// a member called name.
func openPage(t *testing.T, browser context.Context, pageURL, name string) *chatPage {
	t.Helper()
	p := &chatPage{name: name, tab: newTab(t, browser)}
	// Wide enough for the page's two columns, and as tall as the page.
	if err := chromedp.Do(p.tab, chromedp.EmulateViewport(960, 640), chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("%s: opening %s: %v", name, pageURL, err)
	}
	return p
}

// join enters the room and the name and presses Join.
func (p *chatPage) join(t *testing.T, room string) {
	t.Helper()
	p.do(t, "join "+room,
		chromedp.SetValue(chromedp.ID("room"), room),
		chromedp.SetValue(chromedp.ID("name"), p.name),
		chromedp.Click(chromedp.ID("join")))
}

// say types text and presses Send.
func (p *chatPage) say(t *testing.T, text string) {
	t.Helper()
	p.do(t, "say "+text,
		chromedp.SetValue(chromedp.ID("text"), text),
		chromedp.Click(chromedp.ID("send")))
}

// do runs steps on the page, failing the test with what was being done
// when they fail.
func (p *chatPage) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, eventTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// view reads what the page shows now.
func (p *chatPage) view(t *testing.T) pageView {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, eventTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[pageView](viewJS))
	if err != nil {
		t.Fatalf("%s: reading the page: %v", p.name, err)
	}
	return v
}

// waitUntil polls the page, on each change of its DOM, until cond holds
// of its view v (a JavaScript expression), failing the test with what the
// page shows if it does not within eventTimeout.
func (p *chatPage) waitUntil(t *testing.T, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, 2*eventTimeout)
	defer cancel()
	js := fmt.Sprintf("((v) => %s)(%s)", cond, viewJS)
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(eventTimeout)))
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\npage shows %+v", p.name, what, err, p.view(t))
	}
}

// waitMembers waits until the Members list shows each of names.
func (p *chatPage) waitMembers(t *testing.T, names ...string) {
	t.Helper()
	p.waitUntil(t, fmt.Sprintf("members %q", names),
		fmt.Sprintf("%s.every((n) => v.members.includes(n))", jsValue(names)))
}

// waitCount waits until exactly n Messages lines read line.
func (p *chatPage) waitCount(t *testing.T, line string, n int) {
	t.Helper()
	p.waitUntil(t, fmt.Sprintf("%d× %q", n, line),
		fmt.Sprintf("v.messages.filter((m) => m === %s).length === %d", jsValue(line), n))
}

// waitLog waits until a Connection log line matches re.
func (p *chatPage) waitLog(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	p.waitUntil(t, "log line "+re.String(),
		fmt.Sprintf("v.log.some((l) => new RegExp(%s).test(l))", jsValue(re.String())))
}

// count returns how many Messages lines read line.
func (p *chatPage) count(t *testing.T, line string) int {
	t.Helper()
	n := 0
	for _, m := range p.view(t).Messages {
		if m == line {
			n++
		}
	}
	return n
}

// screenshot writes a PNG of the whole page to file.
func (p *chatPage) screenshot(t *testing.T, file string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, eventTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsValue writes v as a JavaScript literal.
func jsValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
