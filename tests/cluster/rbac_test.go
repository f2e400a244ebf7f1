//go:build linux

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/testservers"
)

// addAuthProxy starts a proxy with common.security.authorizationEnabled.
func addAuthProxy(c *cluster, t *testing.T, name string) string {
	t.Helper()
	port := testservers.FreePort(t)
	r := &role{Name: name, Bin: c.Bin, Dir: c.Dir, MetricsPort: testservers.FreePort(t)}
	r.Args = []string{"run", "proxy", "--config", c.Config, "--proxy.port=" + fmt.Sprint(port), "--proxy.ip=127.0.0.1",
		"--common.MetricsPort=" + fmt.Sprint(r.MetricsPort), "--common.security.authorizationEnabled=true",
		c.LocalStorageArg(t, name)}
	r.Start(t)
	c.Roles[name] = r
	c.Order = append(c.Order, name)
	r.WaitReady(t, 90*time.Second)
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// TestClusterRBACAcrossProxies: users, roles and grants live in the meta
// store, so a grant or revoke made through one proxy is enforced by the
// other (which learns of it by its watch), without a restart.
func TestClusterRBACAcrossProxies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	c := startCluster(t, "mixcoord", "streamingnode", "datanode", "querynode", "indexnode")
	p1 := addAuthProxy(c, t, "proxy-1")
	p2 := addAuthProxy(c, t, "proxy-2")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dial := func(addr, user, password string) (*milvusclient.Client, error) {
		cli, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: addr, Username: user, Password: password})
		if err == nil {
			t.Cleanup(func() { cli.Close(context.Background()) })
		}
		return cli, err
	}
	if _, err := dial(p2, "", ""); err == nil {
		t.Fatal("proxy-2 accepted a client without credentials")
	}
	root1, err := dial(p1, "root", "Milvus")
	if err != nil {
		t.Fatal(err)
	}
	if err := root1.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("shared", dim)); err != nil {
		t.Fatal(err)
	}
	if err := root1.CreateUser(ctx, milvusclient.NewCreateUserOption("dave", "dave-pw")); err != nil {
		t.Fatal(err)
	}
	if err := root1.CreateRole(ctx, milvusclient.NewCreateRoleOption("describer")); err != nil {
		t.Fatal(err)
	}
	if err := root1.GrantRole(ctx, milvusclient.NewGrantRoleOption("dave", "describer")); err != nil {
		t.Fatal(err)
	}
	// The user created through proxy-1 can log in through proxy-2.
	var dave2 *milvusclient.Client
	eventually(t, 10*time.Second, "dave logs in through proxy-2", func() error {
		dave2, err = dial(p2, "dave", "dave-pw")
		return err
	})
	describe := func() error {
		_, err := dave2.HasPartition(ctx, milvusclient.NewHasPartitionOption("shared", "_default"))
		return err
	}
	if err := describe(); err == nil || !strings.Contains(err.Error(), "PrivilegeHasPartition: permission deny to dave") {
		t.Fatalf("describe before the grant: %v", err)
	}
	if err := root1.GrantV2(ctx, milvusclient.NewGrantV2Option("describer", "HasPartition", "default", "shared")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "proxy-2 enforces the grant made through proxy-1", describe)
	if err := root1.RevokeV2(ctx, milvusclient.NewRevokeV2Option("describer", "HasPartition", "default", "shared")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "proxy-2 enforces the revoke made through proxy-1", func() error {
		if err := describe(); err == nil {
			return fmt.Errorf("still allowed")
		}
		return nil
	})
	// A password change through proxy-2 is seen by proxy-1.
	if err := dave2.UpdatePassword(ctx, milvusclient.NewUpdatePasswordOption("dave", "dave-pw", "dave-pw2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "proxy-1 refuses the old password", func() error {
		if _, err := dial(p1, "dave", "dave-pw"); err == nil {
			return fmt.Errorf("old password still accepted")
		}
		return nil
	})
	if _, err := dial(p1, "dave", "dave-pw2"); err != nil {
		t.Fatalf("new password through proxy-1: %v", err)
	}
}
