package main

import "crypto/rand"

// newID names a message uniquely across processes, so that a page (or a
// test) can tell a repeat from a new message.
func newID() string { return rand.Text() }
