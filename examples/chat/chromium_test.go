package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which the browser test drives
// headless. A missing browser fails the test: a page that was not run
// proves nothing, so it is no skip.
const (
	chromiumPath = "/usr/bin/chromium"
	chromiumHow  = "apt-get update && apt-get install -y chromium"
)

// stopTimeout bounds the browser's graceful exit.
const stopTimeout = 10 * time.Second

// requireChromium fails the test, saying how to install it, when there is
// no Chromium to run.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is missing (%v): the browser test needs it.\nTo install: %s", err, chromiumHow)
	}
}

// startChromium runs a headless Chromium for one test and returns its
// context, from which tabs are made; the browser is closed, and its
// process waited for, when the test ends.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	requireChromium(t)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Chromium reaches for Google's hosts unless told not to; the
		// test talks to 127.0.0.1 only.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	browser, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(browser); err != nil { // starts the browser
		cancel()
		allocCancel()
		t.Fatalf("starting %s: %v\nTo install: %s", chromiumPath, err, chromiumHow)
	}
	t.Cleanup(func() {
		ctx, stop := context.WithTimeout(browser, stopTimeout)
		defer stop()
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("closing Chromium: %v", err)
		}
		cancel()
		allocCancel() // waits for the process to exit
	})
	return browser
}

// newTab opens a tab of browser, closed when the test ends.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	return tab
}
