package logbroker

import (
	"maps"
	"sync"
	"time"
)

// localTail keeps the messages the embedded server's one writer appended
// last, so that its readers take them from memory instead of reading them
// back from the stream.
//
// Why: nats-server's file store keeps a message block's cache strongly
// held for 10 s after anyone last read from it (not settable for a stream
// made through the API, nats-server#5740), and a reader that follows the
// writer reads every block as it is written. Measured (docs/benchmarks.md,
// natsmem12): at the peak of a 1M x 128 ingest into a loaded collection
// NATS held the last 10 s of the log, 360-536 MB, 2.2-2.6x the raw data in
// all. A block nobody reads while it is written is dropped from memory
// once written (filestore.go flushPendingMsgsLocked): so readers served
// from here leave NATS holding nothing.
//
// Exactness: every message of the embedded stream is appended through one
// NATS value (the server listens on no port), one append per channel at a
// time (lock), so each append follows the channel's last message as this
// process knows it (a fenced append names it too: the sequence the
// stream checked). A channel's entries form a chain: each entry's prev is
// the entry before it. A reader at position p takes the entry whose prev
// is p, which is exactly the next message of the channel, or goes to the
// stream. An append whose predecessor is not known (the first after
// start) or whose outcome is unknown (it may have landed) breaks the
// chain: entries start over.
//
// Memory: entries are copies, dropped once every reader taking the
// channel's tail has taken them, and in any case after tailRetain or when
// the tail holds more than its budget (oldest first); a reader that falls
// behind them reads the stream, as before.
type localTail struct {
	budget int64
	retain time.Duration

	mu    sync.Mutex
	chans map[string]*chanTail
	order []tailRef // every entry, oldest first
	used  int64
	timer *time.Timer // drops entries older than retain; nil while empty
}

// tailRef names an entry in order.
type tailRef struct {
	channel string
	id      MessageID
}

// chanTail is one channel's chain.
type chanTail struct {
	entries []tailEntry // entries[i].prev == entries[i-1].id
	// last is the channel's last message as this process knows it (0:
	// unknown); lastKnown is false until an append or a reader set it.
	last      MessageID
	lastKnown bool
	// version counts changes to last, so that a reader's Latest answer
	// is recorded only if no append came in between.
	version uint64
	wake    chan struct{} // closed at each append
	// appending serialises the channel's appends (NATS.appendLock), so
	// that the last message known when an append starts is the one it
	// follows; inflight is how many have begun and not ended.
	appending sync.Mutex
	inflight  int
	// readers are the positions of the readers taking this channel's
	// tail: an entry all of them passed is dropped (took).
	readers map[any]MessageID
}

type tailEntry struct {
	prev, id MessageID
	payload  []byte
	props    map[string]string
	at       time.Time
}

// Default tail limits: entries normally go as soon as the readers took
// them (within milliseconds of the append); these bound what a reader
// slower than the writer makes the tail keep: a few of the largest
// messages (8 MiB by default).
const (
	tailBudget = 32 << 20
	tailRetain = time.Second
)

func newLocalTail(budget int64, retain time.Duration) *localTail {
	return &localTail{budget: budget, retain: retain, chans: map[string]*chanTail{}}
}

func (t *localTail) chanLocked(channel string) *chanTail {
	c := t.chans[channel]
	if c == nil {
		c = &chanTail{wake: make(chan struct{})}
		t.chans[channel] = c
	}
	return c
}

// lock serialises channel's appends through this process until the
// returned unlock: with every append of the embedded stream made here, the
// channel's last message cannot change while one is under way.
func (t *localTail) lock(channel string) (unlock func()) {
	t.mu.Lock()
	c := t.chanLocked(channel)
	t.mu.Unlock()
	c.appending.Lock()
	return c.appending.Unlock
}

// begin starts an append to channel (under lock) and returns the
// channel's last message, if known: the message the append follows.
func (t *localTail) begin(channel string) (prev MessageID, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.chanLocked(channel)
	c.inflight++
	return c.last, c.lastKnown
}

// appended ends an append begun with begin: the stream stored the message
// at id, after prev on its channel (linked false: prev is not known).
func (t *localTail) appended(channel string, prev, id MessageID, linked bool, payload []byte, props map[string]string) {
	e := tailEntry{prev: prev, id: id, payload: append([]byte(nil), payload...), at: time.Now()}
	if len(props) > 0 {
		e.props = maps.Clone(props)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.chanLocked(channel)
	c.inflight = max(c.inflight-1, 0)
	if !linked || (len(c.entries) > 0 && c.entries[len(c.entries)-1].id != prev) {
		t.dropChannelLocked(c)
	}
	if linked {
		c.entries = append(c.entries, e)
		t.order = append(t.order, tailRef{channel, id})
		t.used += int64(len(e.payload))
	}
	if id > c.last || !c.lastKnown {
		c.last, c.lastKnown = id, true
		c.version++
	}
	close(c.wake)
	c.wake = make(chan struct{})
	for t.used > t.budget && len(t.order) > 0 {
		t.dropOldestLocked()
	}
	if t.timer == nil && len(t.order) > 0 {
		t.timer = time.AfterFunc(t.retain, t.expire)
	}
}

// uncertain ends an append begun with begin whose outcome is unknown (it
// may have landed): the chain breaks and the channel's last message is
// unknown until the next append or a reader asks the stream.
func (t *localTail) uncertain(channel string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.chanLocked(channel)
	c.inflight = max(c.inflight-1, 0)
	t.dropChannelLocked(c)
	c.lastKnown = false
	c.version++
	close(c.wake)
	c.wake = make(chan struct{})
}

// truncated drops channel's entries up to upTo (Truncate).
func (t *localTail) truncated(channel string, upTo MessageID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.chans[channel]
	if c == nil {
		return
	}
	t.dropThroughLocked(c, upTo)
}

// lookup returns the entry that follows pos on channel, if the tail has
// it. Otherwise it reports whether pos is the channel's last message as
// known (atHead: a reader waits on wake), and version for knownLast.
func (t *localTail) lookup(channel string, pos MessageID) (e tailEntry, found, atHead, lastKnown bool, version uint64, wake <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.chanLocked(channel)
	for i := range c.entries { // few entries: the ones not yet dropped
		if c.entries[i].prev == pos {
			return c.entries[i], true, false, true, c.version, c.wake
		}
	}
	return tailEntry{}, false, c.lastKnown && c.last == pos, c.lastKnown, c.version, c.wake
}

// took records that reader, taking channel's tail, is at pos, and drops
// the entries every reader taking it has passed.
func (t *localTail) took(channel string, reader any, pos MessageID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.chanLocked(channel)
	if c.readers == nil {
		c.readers = map[any]MessageID{}
	}
	c.readers[reader] = pos
	low := pos
	for _, p := range c.readers {
		low = min(low, p)
	}
	t.dropThroughLocked(c, low)
}

// left records that reader no longer takes channel's tail (it reads the
// stream, or closed): it holds no entry.
func (t *localTail) left(channel string, reader any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.chans[channel]; c != nil {
		delete(c.readers, reader)
	}
}

// knownLast records last as channel's last message, read from the
// stream by a reader, unless an append changed what the tail knows since
// version or one is under way (it may have landed before the read).
func (t *localTail) knownLast(channel string, last MessageID, version uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.chanLocked(channel)
	if c.version == version && !c.lastKnown && c.inflight == 0 {
		c.last, c.lastKnown = last, true
		c.version++
	}
}

// dropThroughLocked drops c's entries up to id, oldest first. Their refs
// in order are skipped when reached.
func (t *localTail) dropThroughLocked(c *chanTail, id MessageID) {
	n := 0
	for n < len(c.entries) && c.entries[n].id <= id {
		t.used -= int64(len(c.entries[n].payload))
		c.entries[n] = tailEntry{} // the backing array keeps no payload
		n++
	}
	c.entries = c.entries[n:]
}

func (t *localTail) dropChannelLocked(c *chanTail) {
	for _, e := range c.entries {
		t.used -= int64(len(e.payload))
	}
	c.entries = nil // their refs in order are skipped when reached
}

// dropOldestLocked drops the oldest entry of all, if its channel still
// holds it.
func (t *localTail) dropOldestLocked() {
	ref := t.order[0]
	t.order[0] = tailRef{}
	t.order = t.order[1:]
	c := t.chans[ref.channel]
	if c != nil && len(c.entries) > 0 && c.entries[0].id == ref.id {
		t.dropThroughLocked(c, ref.id)
	}
}

// expire drops the entries older than retain and rearms itself while any
// are left.
func (t *localTail) expire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = nil
	cutoff := time.Now().Add(-t.retain)
	for len(t.order) > 0 {
		ref := t.order[0]
		c := t.chans[ref.channel]
		if c != nil && len(c.entries) > 0 && c.entries[0].id == ref.id && c.entries[0].at.After(cutoff) {
			break
		}
		t.dropOldestLocked()
	}
	if len(t.order) > 0 {
		t.timer = time.AfterFunc(t.retain, t.expire)
	} else {
		t.order = nil // let the backing array go
	}
}

// close stops the expiry timer.
func (t *localTail) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.chans = map[string]*chanTail{}
	t.order, t.used = nil, 0
}
