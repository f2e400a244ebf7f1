package streamingcoord

import (
	"encoding/json"
	"fmt"
	"strings"
)

const (
	// PrefixAssignment holds each pchannel's writer: {node, term, from}.
	PrefixAssignment = "streaming/pchannel/"
	// PrefixReleased holds, per pchannel, the term up to which the
	// previous writers have stopped writing it.
	PrefixReleased = "streaming/released/"
)

// Assignment is a pchannel's writer.
type Assignment struct {
	Node int64 `json:"node"`
	Term int64 `json:"term"`
	// From is the previous writer (0: none), which must have stopped.
	From int64 `json:"from,omitempty"`
}

type released struct {
	Term int64 `json:"term"`
}

func decodeAssignment(key string, value []byte) (string, Assignment, error) {
	var a Assignment
	if err := json.Unmarshal(value, &a); err != nil {
		return "", a, fmt.Errorf("streamingcoord: decode %s: %w", key, err)
	}
	return strings.TrimPrefix(key, PrefixAssignment), a, nil
}
