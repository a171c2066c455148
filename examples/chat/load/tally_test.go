package main

import "testing"

func TestTallyInOrder(t *testing.T) {
	tl := newTally()
	for s := range int64(200) {
		if !tl.add(s) {
			t.Fatalf("seq %d not a first arrival", s)
		}
	}
	if g, tail := tl.missing(200); tl.distinct != 200 || tl.duplicates != 0 || tl.reordered != 0 || g+tail != 0 {
		t.Fatalf("%+v", tl)
	}
	if g, tail := tl.missing(250); g != 0 || tail != 50 {
		t.Fatalf("missing(250) = %d, %d, want 0, 50", g, tail)
	}
}

func TestTallyLossDuplicatesReorder(t *testing.T) {
	tl := newTally()
	// 3 is lost, 5 comes twice, 7 comes after 8; 64 and 65 cross a word.
	for _, s := range []int64{0, 1, 2, 4, 5, 5, 6, 8, 7, 9, 64, 65, 65} {
		tl.add(s)
	}
	if tl.distinct != 11 || tl.duplicates != 2 || tl.reordered != 1 {
		t.Fatalf("distinct %d duplicates %d reordered %d, want 11 2 1", tl.distinct, tl.duplicates, tl.reordered)
	}
	// Sent 0..69: missing 3 and 10..63 below the highest, 65, and 66..69
	// above it.
	if g, tail := tl.missing(70); g != 1+54 || tail != 4 {
		t.Fatalf("missing(70) = %d, %d, want 55, 4", g, tail)
	}
	none := newTally()
	if g, tail := none.missing(3); g != 0 || tail != 3 {
		t.Fatalf("nothing arrived: missing(3) = %d, %d, want 0, 3", g, tail)
	}
	if tl.add(-1) {
		t.Fatal("a negative sequence number counted")
	}
}
