package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// records keeps the records of the last maxRecords connections, so that
// a server that runs for long holds a bounded number of them.
type records struct {
	mu    sync.Mutex
	byID  map[string]*record
	order []string // ids, oldest first
	next  int      // for ids the server picks
}

// maxRecords is how many connections' records the server keeps.
const maxRecords = 100

// recordWait bounds how long GET /record waits for a connection to end.
// Tests lower it.
var recordWait = 10 * time.Second

// validID is what a connection id may look like: the page picks one at
// random, and it ends up in a URL and a log line.
var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func newRecords() *records {
	return &records{byID: make(map[string]*record)}
}

// start makes the record of a new connection with the given id, and
// forgets the oldest one when there are maxRecords. An id in use is
// refused: a second connection must not overwrite the first one's record.
func (rs *records) start(id string) (*record, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, ok := rs.byID[id]; ok {
		return nil, fmt.Errorf("connection id %q is in use", id)
	}
	if len(rs.order) >= maxRecords {
		delete(rs.byID, rs.order[0])
		rs.order = rs.order[1:]
	}
	r := newRecord(id)
	rs.byID[id] = r
	rs.order = append(rs.order, id)
	return r, nil
}

// newID picks an id for a connection that came without one. Its dot
// keeps it apart from the ids a page may pick (validID).
func (rs *records) newID() string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.next++
	return fmt.Sprintf("server.%d", rs.next)
}

func (rs *records) get(id string) (*record, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.byID[id]
	return r, ok
}

// serveRecord answers GET /record?id=...: the record of that connection
// as JSON, once the connection has ended or recordWait has passed (then
// with "ended": false), so that the page can ask as soon as its own
// onclose fires, before the server may have finished.
func (rs *records) serveRecord(w http.ResponseWriter, req *http.Request) {
	id := req.URL.Query().Get("id")
	r, ok := rs.get(id)
	if !ok {
		http.Error(w, "no record of connection "+fmt.Sprintf("%q", id), http.StatusNotFound)
		return
	}
	wait := time.NewTimer(recordWait)
	defer wait.Stop()
	select {
	case <-r.ended:
	case <-wait.C:
	case <-req.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(r.snapshot())
}
