package index

// TopK collects the k best (label, score) pairs where smaller scores are
// better. Callers with a higher-is-better metric push negated scores and
// negate them back when reading. It is a bounded max-heap on score: the
// worst kept candidate sits at the root and is evicted first.
type TopK struct {
	k      int
	labels []int64
	scores []float32
}

// NewTopK returns a collector for the k best pairs.
func NewTopK(k int) *TopK {
	return &TopK{k: k, labels: make([]int64, 0, k), scores: make([]float32, 0, k)}
}

// Reset empties the collector and sets a new k.
func (t *TopK) Reset(k int) {
	t.k = k
	t.labels = t.labels[:0]
	t.scores = t.scores[:0]
}

// Len is the number of pairs held.
func (t *TopK) Len() int { return len(t.labels) }

// Full reports whether k pairs are held.
func (t *TopK) Full() bool { return len(t.labels) >= t.k }

// Worst is the largest kept score; only meaningful when Len > 0.
func (t *TopK) Worst() float32 { return t.scores[0] }

// Push offers a pair; it is kept if fewer than k are held or it beats the worst.
func (t *TopK) Push(label int64, score float32) {
	if len(t.labels) < t.k {
		t.labels = append(t.labels, label)
		t.scores = append(t.scores, score)
		t.up(len(t.labels) - 1)
		return
	}
	if t.k == 0 || score >= t.scores[0] {
		return
	}
	t.labels[0], t.scores[0] = label, score
	t.down(0)
}

// Drain writes the kept pairs best-first into labels and scores (each of
// length >= k), pads the rest with label -1, and empties the collector.
// It returns the number of real pairs written.
func (t *TopK) Drain(labels []int64, scores []float32) int {
	n := len(t.labels)
	for i := n - 1; i >= 0; i-- {
		labels[i], scores[i] = t.labels[0], t.scores[0]
		last := len(t.labels) - 1
		t.labels[0], t.scores[0] = t.labels[last], t.scores[last]
		t.labels, t.scores = t.labels[:last], t.scores[:last]
		if last > 0 {
			t.down(0)
		}
	}
	for i := n; i < t.k && i < len(labels); i++ {
		labels[i], scores[i] = -1, 0
	}
	return n
}

func (t *TopK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if t.scores[p] >= t.scores[i] {
			break
		}
		t.swap(i, p)
		i = p
	}
}

func (t *TopK) down(i int) {
	n := len(t.scores)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.scores[r] > t.scores[l] {
			m = r
		}
		if t.scores[i] >= t.scores[m] {
			return
		}
		t.swap(i, m)
		i = m
	}
}

func (t *TopK) swap(i, j int) {
	t.labels[i], t.labels[j] = t.labels[j], t.labels[i]
	t.scores[i], t.scores[j] = t.scores[j], t.scores[i]
}
