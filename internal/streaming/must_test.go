package streaming

import "context"

// bg is the context of in-process calls in tests.
var bg = context.Background()

// must returns v, failing the test binary on err (in-process calls do not
// fail; the signatures are the network-shaped ones).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

func mustDo(err error) {
	if err != nil {
		panic(err)
	}
}
