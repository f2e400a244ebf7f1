package expr

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/bitset"
	"github.com/milvago/milvago/internal/column"
)

// Timestamptz interval arithmetic: `ts + INTERVAL 'P1DT2H' > ISO '...'`
// (Milvus's TimestamptzArithCompareExpr). Each row's time is taken as a
// UTC calendar second (Milvus's segcore drops the fraction), the interval's
// fields are added (or subtracted) field by field with calendar
// normalisation (2025-01-31 + P1M is 2025-03-03), and the result is
// compared with the constant.

// interval is an ISO-8601 duration PnYnMnDTnHnMnS (non-negative fields).
type interval struct{ years, months, days, hours, minutes, seconds int64 }

var durationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// parseInterval is Milvus's parseISODuration.
func parseInterval(s string) (interval, error) {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return interval{}, fmt.Errorf("invalid ISO 8601 duration: %s", s)
	}
	var iv interval
	fields := []*int64{&iv.years, &iv.months, &iv.days, &iv.hours, &iv.minutes, &iv.seconds}
	units := []string{"year", "month", "day", "hour", "minute", "second"}
	for i, p := range fields {
		if m[i+1] == "" {
			continue
		}
		v, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil {
			return interval{}, fmt.Errorf("invalid %s value '%s' in duration: %w", units[i], m[i+1], err)
		}
		*p = v
	}
	return iv, nil
}

func (iv interval) String() string {
	return fmt.Sprintf("P%dY%dM%dDT%dH%dM%dS", iv.years, iv.months, iv.days, iv.hours, iv.minutes, iv.seconds)
}

// shift applies sign*iv to us (microseconds since the epoch) as Milvus does.
func (iv interval) shift(us int64, sign int64) int64 {
	t := time.UnixMicro(us).UTC()
	return time.Date(t.Year()+int(sign*iv.years), t.Month()+time.Month(sign*iv.months), t.Day()+int(sign*iv.days),
		t.Hour()+int(sign*iv.hours), t.Minute()+int(sign*iv.minutes), t.Second()+int(sign*iv.seconds), 0, time.UTC).UnixMicro()
}

// tsArithNode is `f ± interval op v` on a Timestamptz field.
type tsArithNode struct {
	f    fieldRef
	sign int64 // +1 or -1
	iv   interval
	op   cmpOp
	v    int64
}

// tsInterval builds `f ± INTERVAL` (an oArith operand carrying the interval).
func (c *checker) tsInterval(a *ast, f fieldRef, op arithOp, iv interval) (operand, error) {
	if f.Type != schemapb.DataType_Timestamptz || len(f.Path) > 0 {
		return operand{}, errAt(a.pos, "field '%s' is not a timestamptz datatype", f)
	}
	if op != arAdd && op != arSub {
		return operand{}, errAt(a.pos, "only + and - apply to an INTERVAL: %s", c.src(a))
	}
	ivc := iv
	return operand{kind: oArith, f: f, arith: op, interval: &ivc, pos: a.pos}, nil
}

func (n *tsArithNode) fields(add func(int64)) { add(n.f.ID) }

func (n *tsArithNode) format(b *strings.Builder) {
	sign := "+"
	if n.sign < 0 {
		sign = "-"
	}
	fmt.Fprintf(b, "%s %s interval %s %s %d", n.f, sign, quote(n.iv.String()), n.op, n.v)
}

func (n *tsArithNode) eval(ec *evalCtx) (*bitset.Set, *bitset.Set, error) {
	c, err := ec.column(n.f)
	if err != nil {
		return nil, nil, err
	}
	s, ok := c.(*column.Scalar[int64])
	if !ok {
		return nil, nil, fmt.Errorf("field %s: unexpected column type %T", n.f.Name, c)
	}
	res := bitset.New(ec.n)
	for i, us := range s.Data {
		if s.Valid != nil && !s.Valid[i] {
			continue
		}
		if opHolds(n.op, cmp3(n.iv.shift(us, n.sign), n.v)) {
			res.Set(i)
		}
	}
	return finish(res, c, ec.n)
}
