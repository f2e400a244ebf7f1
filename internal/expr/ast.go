package expr

// astKind is the kind of an untyped syntax-tree node.
type astKind int

const (
	aInt       astKind = iota // text
	aFloat                    // text
	aString                   // text
	aBool                     // b
	aArray                    // kids
	aIdent                    // text: name; kids: index keys (aString or aInt)
	aTemplate                 // text: name
	aUnary                    // op: tAdd, tSub, tNot, tBitNot; kids[0]
	aBinary                   // op; kids[0], kids[1]
	aLogic                    // op: tAnd or tOr; kids (flattened)
	aRange                    // kids: lower, field, upper; op: tLT/tLE for lower, op2 for upper (both < side)
	aIn                       // kids[0] in kids[1]; neg: not in
	aLike                     // kids[0] like text
	aIsNull                   // kids[0]; neg: is not null
	aExists                   // kids[0]
	aCall                     // text: lower-case function name; kids: args
	aParen                    // kids[0]; kept so that String can show the user's grouping in errors
	aISO                      // text: the time of ISO 'text', a Timestamptz constant
	aInterval                 // text: the duration of INTERVAL 'text'
	aNamedArg                 // text: lower-case name; kids[0]: value (name=value in a call)
	aStructSub                // text: sub-field name of $[name]
)

// ast is an untyped syntax-tree node. pos is the byte offset of the node's
// first token; depth is the height of the subtree (bounded by MaxDepth).
type ast struct {
	kind  astKind
	pos   int
	op    tokKind
	op2   tokKind
	neg   bool
	b     bool
	text  string
	kids  []*ast
	depth int
	end   int // byte offset just past the node, for quoting source in messages
}
