package datanode

import "testing"

func TestPositionTimes(t *testing.T) {
	var p positionTimes
	for id := uint64(10); id <= 100; id += 10 {
		p.add(id, id*2)
	}
	p.add(50, 1) // re-read after a reader restart: ignored
	for _, c := range []struct{ id, want uint64 }{{5, 0}, {10, 20}, {15, 20}, {50, 100}, {1000, 200}} {
		if got := p.tsAt(c.id); got != c.want {
			t.Errorf("tsAt(%d) = %d, want %d", c.id, got, c.want)
		}
	}
	p.trimBefore(75)
	if got := p.tsAt(75); got != 140 {
		t.Errorf("after trim tsAt(75) = %d, want 140", got)
	}
	if got := p.tsAt(100); got != 200 {
		t.Errorf("after trim tsAt(100) = %d, want 200", got)
	}
	if len(p.ids) != 4 {
		t.Errorf("after trim %d positions kept, want 4 (70..100)", len(p.ids))
	}
}
