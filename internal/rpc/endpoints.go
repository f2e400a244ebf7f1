package rpc

import (
	"net/http"
	"net/http/pprof"
)

// readOnly lets GET and HEAD through to h and answers anything else with
// 405: /healthz and /metrics change nothing and accept no bodies.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AddPprof is addPprof for the HTTP servers of the internal roles
// (their /healthz and /metrics on common.MetricsPort).
func AddPprof(mux *http.ServeMux) { addPprof(mux) }

// addPprof serves Go's profiles under /debug/pprof/ (milvago.pprof.enabled).
// They stay off by default: a profile reveals internals, and a CPU profile
// or trace costs CPU for as long as a caller asks.
func addPprof(mux *http.ServeMux) {
	mux.Handle("/debug/pprof/", readOnly(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/cmdline", readOnly(http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("/debug/pprof/profile", readOnly(http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/symbol", readOnly(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("/debug/pprof/trace", readOnly(http.HandlerFunc(pprof.Trace)))
}
