package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/a60656ec/websocket/internal/xconnect"
	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind. The shared
// browser is stopped first, so that its goroutines are gone too.
func TestMain(m *testing.M) {
	if !xconnect.On() {
		os.Exit(xconnect.Rerun()) // net/http reads the setting at init
	}
	goleak.VerifyTestMain(stopBrowserAfter{m})
}

type stopBrowserAfter struct{ m *testing.M }

func (s stopBrowserAfter) Run() int {
	code := s.m.Run()
	stopBrowser()
	return code
}

// The real peers. A missing one fails the test that needs it, with how to
// install it: a peer that is not there proves nothing, so it is no skip.
const (
	chromiumPath = "/usr/bin/chromium"
	// pythonPath is Debian's own python3, the one that imports Debian's
	// python3-websockets; a python3 earlier on PATH (pyenv) cannot.
	pythonPath = "/usr/bin/python3"
	installHow = "run `bash interop/ci.sh` from the repository root, or install by hand: " +
		"apt-get update && apt-get install -y chromium python3-websockets; cd interop && npm ci"
)

var (
	peerOnce sync.Once
	peerErrs map[string]string // client name: why it is missing
)

func checkPeers() {
	peerErrs = map[string]string{}
	if _, err := os.Stat(chromiumPath); err != nil {
		peerErrs[chromium] = "Debian's chromium is not installed: " + err.Error()
	}
	if _, err := exec.LookPath("node"); err != nil {
		peerErrs[nodeWS] = "node is not on PATH: " + err.Error()
	} else if _, err := os.Stat(filepath.Join("node_modules", "ws", "package.json")); err != nil {
		peerErrs[nodeWS] = "the npm package ws is not installed in interop/node_modules: " + err.Error()
	}
	if out, err := exec.Command(pythonPath, "-c", "import websockets").CombinedOutput(); err != nil {
		peerErrs[pythonWS] = pythonPath + " cannot import websockets (Debian's python3-websockets): " +
			err.Error() + ": " + string(out)
	}
}

// requirePeer fails the test when the named client is not installed.
func requirePeer(t *testing.T, name string) {
	t.Helper()
	peerOnce.Do(checkPeers)
	if why, ok := peerErrs[name]; ok {
		t.Fatalf("%s is missing: %s\nTo install: %s", name, why, installHow)
	}
}

// TestPeersInstalled says up front which peer is missing, if any.
func TestPeersInstalled(t *testing.T) {
	for _, name := range []string{chromium, nodeWS, pythonWS} {
		t.Run(name, func(t *testing.T) { requirePeer(t, name) })
	}
}
