package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testHandler serves fake endpoints, without a proxy.
func testHandler(routes map[string]endpoint) *Handler {
	h := New(nil, nil)
	h.routes = routes
	return h
}

func do(t *testing.T, h http.Handler, method, path, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: body %q: %v", method, path, rec.Body.String(), err)
	}
	return rec.Code, m
}

func TestEnvelopeAndErrors(t *testing.T) {
	var seen *call
	h := testHandler(map[string]endpoint{
		"/ok": func(ctx context.Context, c *call) (any, error) { seen = c; return []string{"a"}, nil },
		"/env": func(ctx context.Context, c *call) (any, error) {
			return envelope{"data": 1, "topks": []int64{1}}, nil
		},
		"/panic": func(ctx context.Context, c *call) (any, error) { panic("boom") },
		"/collections/has": func(ctx context.Context, c *call) (any, error) {
			r, err := c.collectionName()
			return r, err
		},
	})
	f := func(path, body string, header map[string]string, wantHTTP int, wantCode float64) map[string]any {
		t.Helper()
		status, m := do(t, h, http.MethodPost, Prefix+path, body, header)
		if status != wantHTTP || m["code"] != wantCode {
			t.Fatalf("%s %s: HTTP %d %v, want HTTP %d code %v", path, body, status, m, wantHTTP, wantCode)
		}
		return m
	}
	m := f("/ok", `{"dbName": "db1"}`, nil, 200, 0)
	if seen.db != "db1" || !seen.allowInt64 || m["data"].([]any)[0] != "a" {
		t.Fatalf("ok: %v, call %+v", m, seen)
	}
	f("/ok", `{}`, map[string]string{"DB-Name": "db2", "Accept-Type-Allow-Int64": "false", "Authorization": "Bearer x"}, 200, 0)
	if seen.db != "db2" || seen.allowInt64 {
		t.Fatalf("headers: call %+v", seen)
	}
	f("/ok", `{}`, nil, 200, 0)
	if seen.db != "default" {
		t.Fatalf("default database: %q", seen.db)
	}
	if m := f("/env", `{}`, nil, 200, 0); m["topks"] == nil || m["data"] != 1.0 {
		t.Fatalf("envelope: %v", m)
	}
	f("/ok", `{"dbName": `, nil, 200, 1801)
	f("/collections/has", `[1]`, nil, 200, 1801)
	f("/collections/has", `{"collectionName": 5}`, nil, 200, 1801)
	f("/collections/has", `{}`, nil, 200, 1802)
	f("/ok", ``, nil, 200, 1801)
	if m := f("/panic", `{}`, nil, 200, 5); !strings.Contains(m["message"].(string), "boom") {
		t.Fatalf("panic: %v", m)
	}
	for _, r := range []struct{ method, path string }{{http.MethodPost, "/nothing"}, {http.MethodGet, "/ok"}} {
		req := httptest.NewRequest(r.method, Prefix+r.path, strings.NewReader("{}"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound || rec.Body.String() != "404 page not found" {
			t.Fatalf("%s %s: HTTP %d %q, want gin's 404", r.method, r.path, rec.Code, rec.Body.String())
		}
	}
}

func TestUnimplemented(t *testing.T) {
	// The RBAC endpoints answer code 10 until SetAuth gives the handler
	// the RBAC API.
	status, m := do(t, New(nil, nil), http.MethodPost, Prefix+"/users/list", `{}`, nil)
	if status != http.StatusOK || m["code"] != 10.0 {
		t.Fatalf("users/list: HTTP %d %v", status, m)
	}
}

func TestRequestTimeout(t *testing.T) {
	h := testHandler(map[string]endpoint{
		"/wait": func(ctx context.Context, c *call) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	start := time.Now()
	status, m := do(t, h, http.MethodPost, Prefix+"/wait", `{}`, map[string]string{"Request-Timeout": "0.05"})
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Request-Timeout not honoured: took %v", time.Since(start))
	}
	if status != http.StatusRequestTimeout || m["code"] != 408.0 || !strings.Contains(m["message"].(string), "deadline") {
		t.Fatalf("timeout answer: %v", m)
	}
}
