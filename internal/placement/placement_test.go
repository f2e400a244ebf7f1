package placement

import "testing"

func TestAssignOrphansSpreadsEvenly(t *testing.T) {
	needed := []string{"c0", "c1", "c2", "c3", "c4"}
	owner := map[string]int64{"c0": 1, "c1": 9} // 9 is dead
	next := AssignOrphans(owner, needed, map[int64]bool{1: true, 2: true})
	want := map[string]int64{"c1": 2, "c2": 1, "c3": 2, "c4": 1} // ties go to the lowest ID
	if len(next) != len(want) {
		t.Fatalf("got %v, want %v", next, want)
	}
	for ch, n := range want {
		if next[ch] != n {
			t.Fatalf("got %v, want %v", next, want)
		}
	}
	if AssignOrphans(owner, needed, nil) != nil {
		t.Fatal("assigned with no live node")
	}
}

func TestMoveFromBusiest(t *testing.T) {
	needed := []string{"c0", "c1", "c2", "c3"}
	owner := map[string]int64{"c0": 1, "c1": 1, "c2": 1, "c3": 2}
	live := map[int64]bool{1: true, 2: true, 3: true}
	ch, src, dst, ok := Move(owner, needed, live)
	if !ok || ch != "c0" || src != 1 || dst != 3 {
		t.Fatalf("Move = %s %d→%d %v, want c0 1→3", ch, src, dst, ok)
	}
	owner["c0"] = 3
	if _, _, _, ok := Move(owner, needed, live); ok {
		t.Fatal("moved with loads 2,1,1")
	}
}
