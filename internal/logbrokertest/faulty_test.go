package logbrokertest_test

import (
	"errors"
	"testing"

	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/logbrokertest"
)

func TestFaultyNeverFailing(t *testing.T) {
	logbrokertest.Run(t, func(t *testing.T) logbroker.Log {
		l := &logbrokertest.Faulty{Log: logbroker.NewMemory(logbroker.MemoryConfig{}), FailAfter: -1}
		t.Cleanup(func() { l.Close() })
		return l
	})
}

func TestFaulty(t *testing.T) {
	ctx := t.Context()
	for _, ackLost := range []bool{false, true} {
		mem := logbroker.NewMemory(logbroker.MemoryConfig{})
		defer mem.Close()
		f := &logbrokertest.Faulty{Log: mem, FailAfter: 2, AckLost: ackLost}
		id, err := f.Append(ctx, "ch", []byte("a"), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.Read(ctx, "ch", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Next(ctx); !errors.Is(err, logbrokertest.ErrInjected) {
			t.Fatalf("third call: %v, want ErrInjected", err)
		}
		if _, err := f.Append(ctx, "ch", []byte("b"), nil); !errors.Is(err, logbrokertest.ErrInjected) {
			t.Fatalf("fourth call: %v, want ErrInjected", err)
		}
		if f.Calls() != 4 {
			t.Fatalf("calls %d, want 4", f.Calls())
		}
		latest, err := mem.Latest(ctx, "ch")
		if err != nil {
			t.Fatal(err)
		}
		if stored := latest > id; stored != ackLost {
			t.Fatalf("AckLost=%v: failed append stored: %v", ackLost, stored)
		}
	}
}
