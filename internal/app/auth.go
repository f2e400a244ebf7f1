package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/milvago/milvago/internal/auth"
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/rbac"
)

// AuthConfig is common.security's authentication part.
type AuthConfig struct {
	// Enabled is common.security.authorizationEnabled: every call must
	// carry credentials and is checked against the caller's grants.
	Enabled bool
	// RootPassword is common.security.defaultRootPassword: root's
	// password when the meta store has no root yet ("": Milvus).
	RootPassword string
	// Options are common.security.superUsers, rootShouldBindRole and
	// enablePublicPrivilege (the zero value is Milvus's defaults).
	Options rbac.Options
}

// AuthFromConfig takes common.security.* from a loaded configuration.
func AuthFromConfig(c *config.Config) AuthConfig {
	sec := c.Common.Security
	return AuthConfig{Enabled: sec.AuthorizationEnabled, RootPassword: sec.DefaultRootPassword,
		Options: rbac.Options{SuperUsers: sec.SuperUsers, RootShouldBindRole: sec.RootShouldBindRole, NoPublicPrivilege: !sec.EnablePublicPrivilege}}
}

// openRBAC loads users, roles and grants from the meta store, creating
// root and the built-in roles at first start (whether or not
// authentication is on, as Milvus does), and returns the guard the API
// servers check calls with.
func openRBAC(ctx context.Context, meta kv.Store, cfg AuthConfig, logger *slog.Logger) (*rbac.Store, *auth.Guard, error) {
	acl, err := rbac.Open(ctx, meta, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("app: %w", err)
	}
	acl.SetOptions(cfg.Options)
	password := cfg.RootPassword
	if password == "" {
		password = "Milvus"
	}
	if err := acl.Bootstrap(ctx, password); err != nil {
		return nil, nil, fmt.Errorf("app: %w", err)
	}
	if cfg.Enabled {
		logger.Info("authentication and authorization are on")
	}
	return acl, auth.New(acl, cfg.Enabled, logger), nil
}
