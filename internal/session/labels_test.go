package session

import (
	"maps"
	"testing"
)

// TestLabelsFromEnv follows Milvus's sessionutil label rules: general
// labels for every role, role labels (by name or short name) only for
// that role and over a general label of the same name.
func TestLabelsFromEnv(t *testing.T) {
	env := []string{
		"PATH=/bin",
		"MILVUS_SERVER_LABEL_zone=a",
		"MILVUS_SERVER_LABEL_disk=hdd",
		"MILVUS_SERVER_LABEL_QUERYNODE_disk=ssd",
		"MILVUS_SERVER_LABEL_qn_rack=r1",
		"MILVUS_SERVER_LABEL_dn_rack=r9",
		"MILVUS_SERVER_LABEL_querynode=broken",
		"MILVUS_SERVER_LABEL_=empty",
	}
	for _, tc := range []struct {
		role string
		want map[string]string
	}{
		{RoleQueryNode, map[string]string{"zone": "a", "disk": "ssd", "rack": "r1"}},
		{RoleDataNode, map[string]string{"zone": "a", "disk": "hdd", "rack": "r9"}},
		{RoleProxy, map[string]string{"zone": "a", "disk": "hdd"}},
	} {
		if got := LabelsFromEnv(tc.role, env); !maps.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.role, got, tc.want)
		}
	}
	if got := LabelsFromEnv(RoleQueryNode, []string{"HOME=/"}); got != nil {
		t.Errorf("no label variables: %v", got)
	}
}
