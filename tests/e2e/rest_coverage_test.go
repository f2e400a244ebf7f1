package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestRESTRemainingEndpoints drives the Milvus 2.6 REST v2 endpoints no
// other test reaches (docs/parity-audit.md lists them): flush,
// advanced_search (hybrid_search's older name), import describe, the
// privilege group operations, role list/revoke/drop and the user's
// password change and role revocation, each checked by its effect.
func TestRESTRemainingEndpoints(t *testing.T) {
	srv := startAuthServer(t)
	const rootAuth = "Bearer root:Milvus"
	post := func(path, auth, body string) map[string]any {
		t.Helper()
		_, out := restCall(t, srv, "/v2/vectordb"+path, auth, body)
		return out
	}
	ok := func(path, body string) map[string]any {
		t.Helper()
		out := post(path, rootAuth, body)
		if out["code"] != float64(0) {
			t.Fatalf("%s %s: %v", path, body, out)
		}
		return out
	}

	// flush, then advanced_search finds the flushed rows.
	ok("/collections/create", `{"collectionName":"docs","dimension":4}`)
	ok("/entities/insert", `{"collectionName":"docs","data":[{"id":1,"vector":[1,0,0,0]},{"id":2,"vector":[0,1,0,0]}]}`)
	ok("/collections/flush", `{"collectionName":"docs"}`)
	if out := post("/collections/flush", rootAuth, `{"collectionName":"nope"}`); out["code"] != float64(100) {
		t.Fatalf("flush of a missing collection: %v", out)
	}
	out := ok("/entities/advanced_search", `{"collectionName":"docs","search":[{"data":[[1,0,0,0]],"annsField":"vector","limit":2}],`+
		`"rerank":{"strategy":"rrf","params":{"k":60}},"limit":2,"outputFields":["id"]}`)
	if rows, _ := out["data"].([]any); len(rows) != 2 || fmt.Sprint(rows[0].(map[string]any)["id"]) != "1" {
		t.Fatalf("advanced_search: %v", out)
	}

	// import describe: the same answer as get_progress, Milvus's alias.
	if out := post("/jobs/import/describe", rootAuth, `{"jobId":"12345"}`); out["code"] != float64(2101) ||
		!strings.Contains(fmt.Sprint(out["message"]), "import job does not exist") {
		t.Fatalf("import describe of an unknown job: %v", out)
	}

	// Privilege groups: create, add, remove, drop.
	ok("/privilege_groups/create", `{"privilegeGroupName":"readers"}`)
	ok("/privilege_groups/add_privileges_to_group", `{"privilegeGroupName":"readers","privileges":["Query","Search"]}`)
	group := func() string {
		t.Helper()
		out := ok("/privilege_groups/list", `{}`)
		for _, g := range out["data"].(map[string]any)["privilegeGroups"].([]any) {
			if g := g.(map[string]any); g["privilegeGroupName"] == "readers" {
				return fmt.Sprint(g["privileges"])
			}
		}
		return "(none)"
	}
	if got := group(); got != "Query,Search" {
		t.Fatalf("readers after add: %q", got)
	}
	ok("/privilege_groups/remove_privileges_from_group", `{"privilegeGroupName":"readers","privileges":["Search"]}`)
	if got := group(); got != "Query" {
		t.Fatalf("readers after remove: %q", got)
	}
	ok("/privilege_groups/drop", `{"privilegeGroupName":"readers"}`)
	if got := group(); got != "(none)" {
		t.Fatalf("readers after drop: %q", got)
	}

	// Roles: list, grant and revoke (v1 and v2), drop.
	ok("/roles/create", `{"roleName":"writer"}`)
	if out := ok("/roles/list", `{}`); !slices.Contains(out["data"].([]any), any("writer")) {
		t.Fatalf("roles/list: %v", out)
	}
	privileges := func() int {
		t.Helper()
		return len(ok("/roles/describe", `{"roleName":"writer"}`)["data"].([]any))
	}
	ok("/roles/grant_privilege", `{"roleName":"writer","objectType":"Collection","objectName":"docs","privilege":"Insert"}`)
	ok("/roles/grant_privilege_v2", `{"roleName":"writer","privilege":"Query","dbName":"default","collectionName":"docs"}`)
	if n := privileges(); n != 2 {
		t.Fatalf("writer has %d grants after two grants", n)
	}
	ok("/roles/revoke_privilege", `{"roleName":"writer","objectType":"Collection","objectName":"docs","privilege":"Insert"}`)
	ok("/roles/revoke_privilege_v2", `{"roleName":"writer","privilege":"Query","dbName":"default","collectionName":"docs"}`)
	if n := privileges(); n != 0 {
		t.Fatalf("writer has %d grants after both revokes", n)
	}

	// Users: the new password works and the old one no longer; a revoked
	// role is gone; a role without users can be dropped.
	ok("/users/create", `{"userName":"carol","password":"carol-pw"}`)
	ok("/users/grant_role", `{"userName":"carol","roleName":"writer"}`)
	ok("/users/update_password", `{"userName":"carol","password":"carol-pw","newPassword":"carol-pw-2"}`)
	if out := post("/collections/list", "Bearer carol:carol-pw-2", `{}`); out["code"] != float64(0) {
		t.Fatalf("carol with the new password: %v", out)
	}
	if out := post("/collections/list", "Bearer carol:carol-pw", `{}`); out["code"] == float64(0) {
		t.Fatalf("carol with the old password: %v", out)
	}
	ok("/users/revoke_role", `{"userName":"carol","roleName":"writer"}`)
	if out := ok("/users/describe", `{"userName":"carol"}`); len(out["data"].([]any)) != 0 {
		t.Fatalf("carol's roles after the revoke: %v", out)
	}
	ok("/roles/drop", `{"roleName":"writer"}`)
	if out := ok("/roles/list", `{}`); slices.Contains(out["data"].([]any), any("writer")) {
		t.Fatalf("roles/list after drop: %v", out)
	}
}
