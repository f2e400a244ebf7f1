package embedding

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// maxResponseBytes bounds a model service's answer.
const maxResponseBytes = 256 << 20

// baseURL is Milvus's models.NewBaseURL: an http or https URL with a host.
func baseURL(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint: [%s] is not a valid http/https link", endpoint)
	}
	return u, nil
}

// post sends req as JSON to url and decodes the answer into resp
// (Milvus's models.PostRequest): each attempt runs under the configured
// timeout and ctx; a failed attempt is retried after a growing backoff.
func (s *Service) post(ctx context.Context, url string, headers map[string]string, req, resp any) error {
	return s.postWith(ctx, url, headers, nil, req, resp)
}

// postWith is post with prepare run on each attempt's request before it
// is sent (bedrock signs it there).
func (s *Service) postWith(ctx context.Context, url string, headers map[string]string, prepare func(*http.Request, []byte), req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout*time.Duration(s.cfg.Retries)+s.cfg.Backoff<<s.cfg.Retries)
	defer cancel()
	var answer []byte
	for i := range s.cfg.Retries {
		if i > 0 {
			wait := s.cfg.Backoff << (i - 1)
			wait += time.Duration(rand.Int64N(int64(wait/4) + 1))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if answer, err = s.send(ctx, url, headers, prepare, body); err == nil {
			break
		}
		if ctx.Err() != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(answer, resp); err != nil {
		return fmt.Errorf("call service failed, unmarshal response failed, errs:[%v]", err)
	}
	return nil
}

// send is one attempt, under the per-request timeout.
func (s *Service) send(ctx context.Context, url string, headers map[string]string, prepare func(*http.Request, []byte), body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if prepare != nil {
		prepare(req, body)
	}
	res, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call service failed, errs:[%v]", err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("call service failed, read response failed, errs:[%v]", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("call service failed, errs:[%s, %s]", res.Status, answer)
	}
	return answer, nil
}

// jsonHeaders are the headers of a JSON request, with a bearer token when
// apiKey is set.
func jsonHeaders(apiKey string) map[string]string {
	h := map[string]string{"Content-Type": "application/json"}
	if apiKey != "" {
		h["Authorization"] = "Bearer " + apiKey
	}
	return h
}
