package config

import (
	"strings"
	"testing"
)

// TestShardBalanceKeys: Milvus's balance checker keys, their defaults,
// the environment, and a refused interval naming its key.
func TestShardBalanceKeys(t *testing.T) {
	c, _, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b := c.ShardBalance; !b.QueryCoordAutoBalance || !b.QueryCoordAutoBalanceChannel || b.QueryCoordAutoBalanceInterval != 3000 {
		t.Fatalf("defaults: %+v", b)
	}
	c, _, err = Load(Options{Env: []string{"QUERY_COORD_AUTO_BALANCE=false", "MILVUS_CONF_QUERY_COORD_AUTO_BALANCE_INTERVAL=500"}})
	if err != nil {
		t.Fatal(err)
	}
	if b := c.ShardBalance; b.QueryCoordAutoBalance || b.QueryCoordAutoBalanceInterval != 500 {
		t.Fatalf("from the environment: %+v", b)
	}
	_, _, err = Load(Options{Env: []string{"QUERY_COORD_AUTO_BALANCE_INTERVAL=10"}})
	if err == nil || !strings.Contains(err.Error(), "queryCoord.autoBalanceInterval") {
		t.Fatalf("interval of 10 ms: %v", err)
	}
}
