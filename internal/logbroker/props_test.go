package logbroker

import (
	"bytes"
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// FuzzProps checks that any property survives the NATS header encoding:
// escaped, written as a header block, parsed by the client, unescaped.
func FuzzProps(f *testing.F) {
	f.Add("msgType", "Insert")
	f.Add("k:colon", " lead\r\ntrail ")
	f.Add("", "%41%")
	f.Add("Nats-Msg-Id", "ü")
	f.Fuzz(func(t *testing.T, k, v string) {
		props := map[string]string{k: v, "other": "x"}
		h := make(nats.Header)
		for k, v := range props {
			h.Set(propKey(k), propValue(v))
		}
		var b bytes.Buffer
		b.WriteString("NATS/1.0\r\n")
		for k, vs := range h {
			for _, v := range vs {
				b.WriteString(k + ": " + v + "\r\n")
			}
		}
		b.WriteString("\r\n")
		got, err := nats.DecodeHeadersMsg(b.Bytes())
		if err != nil {
			t.Fatalf("decode %q: %v", b.Bytes(), err)
		}
		back := make(map[string]string)
		for hk, vs := range got {
			if !strings.HasPrefix(hk, propKeyPrefix) {
				t.Fatalf("header %q without the prefix", hk)
			}
			back[unescape(hk[len(propKeyPrefix):])] = unescape(vs[0])
		}
		if !maps.Equal(back, props) {
			t.Fatalf("round trip: %q, want %q", back, props)
		}
		if n := propsSize(props); n != b.Len()-len("NATS/1.0\r\n\r\n") {
			t.Fatalf("propsSize %d, encoded %d", n, b.Len()-len("NATS/1.0\r\n\r\n"))
		}
	})
}

// FuzzChannelToken checks that distinct channels get distinct subject
// tokens, each one valid NATS subject token.
func FuzzChannelToken(f *testing.F) {
	f.Add("by-dev-rootcoord-dml_0", "a.b")
	f.Add("~YQ", "a")
	f.Fuzz(func(t *testing.T, a, b string) {
		ta, tb := channelToken(a), channelToken(b)
		if (a == b) != (ta == tb) {
			t.Fatalf("channels %q and %q: tokens %q and %q", a, b, ta, tb)
		}
		if a != "" && (ta == "" || strings.ContainsAny(ta, ". \t\r\n*>")) {
			t.Fatalf("channel %q: bad token %q", a, ta)
		}
	})
}

// TestNextAfterTruncationMarkOnly covers the crash window between storing a
// truncation point and purging: messages below the point are still in the
// stream but never delivered.
func TestNextAfterTruncationMarkOnly(t *testing.T) {
	e, err := StartEmbedded(t.Context(), EmbedConfig{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.Log()
	ctx := context.Background()
	var ids []MessageID
	for range 5 {
		id, err := l.Append(ctx, "ch", []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Store the mark only, as a crash right after it would leave things.
	if _, err := l.js.Publish(ctx, l.truncSubject("ch"), []byte(strconv.FormatUint(uint64(ids[2]), 10))); err != nil {
		t.Fatal(err)
	}
	r, err := l.Read(ctx, "ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(ctx)
	if err != nil || m.ID != ids[3] {
		t.Fatalf("first message after a mark-only truncation: %d, %v; want %d", m.ID, err, ids[3])
	}
	// The next Truncate completes the purge.
	if err := l.Truncate(ctx, "ch", ids[3]); err != nil {
		t.Fatal(err)
	}
	info, err := l.stream.Info(ctx, jetstream.WithSubjectFilter(l.dataSubject("ch")))
	if err != nil {
		t.Fatal(err)
	}
	if n := info.State.Subjects[l.dataSubject("ch")]; n != 1 {
		t.Fatalf("%d messages left on the channel, want 1", n)
	}
}
