package main

import "testing"

func TestTallyInOrder(t *testing.T) {
	tl := newTally()
	for s := range int64(200) {
		if !tl.add(s) {
			t.Fatalf("seq %d not a first arrival", s)
		}
	}
	if tl.distinct != 200 || tl.duplicates != 0 || tl.reordered != 0 || tl.missing(200) != 0 {
		t.Fatalf("%+v", tl)
	}
	if tl.missing(250) != 50 {
		t.Fatalf("missing(250) = %d, want 50", tl.missing(250))
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
	// Sent 0..65: missing 3 and 10..63.
	if got := tl.missing(66); got != 1+54 {
		t.Fatalf("missing(66) = %d, want 55", got)
	}
	if tl.add(-1) {
		t.Fatal("a negative sequence number counted")
	}
}
