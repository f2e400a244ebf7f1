package segment

// collector keeps the k best (key, offset) pairs, where a smaller key is
// better and ties go to the smaller offset, so results are deterministic
// across runs and replicas. It is a bounded max-heap: the worst kept pair
// sits at the root.
type collector struct {
	k    int
	keys []float32
	offs []int64
}

func newCollector(k int) *collector {
	return &collector{k: k, keys: make([]float32, 0, k), offs: make([]int64, 0, k)}
}

func (c *collector) reset() {
	c.keys, c.offs = c.keys[:0], c.offs[:0]
}

// worse reports whether pair i ranks after pair j.
func (c *collector) worse(i, j int) bool {
	if c.keys[i] != c.keys[j] {
		return c.keys[i] > c.keys[j]
	}
	return c.offs[i] > c.offs[j]
}

// accepts reports whether a pair with this key could enter the collector,
// a cheap test before building the pair.
func (c *collector) accepts(key float32) bool {
	return len(c.keys) < c.k || key <= c.keys[0]
}

// takes reports whether push(key, off) would keep the pair.
func (c *collector) takes(key float32, off int64) bool {
	return len(c.keys) < c.k || key < c.keys[0] || (key == c.keys[0] && off < c.offs[0])
}

func (c *collector) push(key float32, off int64) {
	if len(c.keys) < c.k {
		c.keys = append(c.keys, key)
		c.offs = append(c.offs, off)
		c.up(len(c.keys) - 1)
		return
	}
	if key > c.keys[0] || (key == c.keys[0] && off > c.offs[0]) {
		return
	}
	c.keys[0], c.offs[0] = key, off
	c.down(0)
}

// best returns the best pair held; the collector must not be empty.
func (c *collector) best() (float32, int64) {
	b := 0
	for i := 1; i < len(c.keys); i++ {
		if c.keys[i] < c.keys[b] || (c.keys[i] == c.keys[b] && c.offs[i] < c.offs[b]) {
			b = i
		}
	}
	return c.keys[b], c.offs[b]
}

// drain writes the pairs best first into keys and offs (length k), pads
// with offset -1, and empties the collector.
func (c *collector) drain(keys []float32, offs []int64) {
	n := len(c.keys)
	for i := n - 1; i >= 0; i-- {
		keys[i], offs[i] = c.keys[0], c.offs[0]
		last := len(c.keys) - 1
		c.keys[0], c.offs[0] = c.keys[last], c.offs[last]
		c.keys, c.offs = c.keys[:last], c.offs[:last]
		if last > 0 {
			c.down(0)
		}
	}
	for i := n; i < len(offs); i++ {
		keys[i], offs[i] = 0, -1
	}
}

func (c *collector) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !c.worse(i, p) {
			return
		}
		c.swap(i, p)
		i = p
	}
}

func (c *collector) down(i int) {
	n := len(c.keys)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && c.worse(r, l) {
			m = r
		}
		if !c.worse(m, i) {
			return
		}
		c.swap(i, m)
		i = m
	}
}

func (c *collector) swap(i, j int) {
	c.keys[i], c.keys[j] = c.keys[j], c.keys[i]
	c.offs[i], c.offs[j] = c.offs[j], c.offs[i]
}
