// Command milvago is Milvago's one binary: `milvago standalone` runs every
// role in one process, `milvago run ROLE` one role of a cluster; `milvago
// bench ann` measures the index engine.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/milvago/milvago/internal/annbench"
	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/rpc"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}

// runners start what a command configured; tests replace them.
type runners struct {
	standalone func(ctx context.Context, cfg app.StandaloneConfig, logger *slog.Logger) error
	role       func(ctx context.Context, role string, cfg *config.Config, logger *slog.Logger) error
}

func rootCommand() *cobra.Command {
	return newRootCommand(runners{standalone: runStandalone, role: app.RunRole})
}

func runStandalone(ctx context.Context, cfg app.StandaloneConfig, logger *slog.Logger) error {
	// The API listens before the stores open: a client gets "not ready"
	// (code 1, retriable) rather than a refused connection.
	gl, hl, err := app.ListenStandalone(cfg)
	if err != nil {
		return err
	}
	s, err := app.StartStandalone(ctx, cfg, gl, hl, logger)
	if err != nil {
		return err
	}
	err = s.Serve(ctx, gl, hl)
	logger.Info("milvago stopped")
	return err
}

func newRootCommand(run runners) *cobra.Command {
	root := &cobra.Command{
		Use:           "milvago",
		Short:         "Milvago: a Milvus-compatible vector database in one Go binary",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(standaloneCommand(run), runCommand(run), recoverCommand(), annbench.NewCommand(), versionCommand())
	return root
}

func standaloneCommand(run runners) *cobra.Command {
	var file string
	var flags *config.Flags
	cmd := &cobra.Command{
		Use:   "standalone",
		Short: "Run every role in one process (embedded meta store, log and local object store)",
		Long: `Run every role in one process: an embedded etcd, an embedded NATS JetStream log and the
objects in a local directory, all under milvago.dataDir (--data-dir).

Configuration: defaults < the --config file (milvus.yaml's layout) < environment (Milvus's
names: PROXY_PORT, MILVUS_CONF_PROXY_PORT) < flags. Every key is a flag; see docs/cluster.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(cmd, config.Standalone, file, flags)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return run.standalone(ctx, app.StandaloneFromConfig(cfg), logger)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&file, "config", "", "YAML file in milvus.yaml's layout (docs/cluster.md)")
	flags = config.NewFlags()
	// The flags that predate the config file, each another name of a key.
	flags.Alias(f, "data-dir", "milvago.dataDir", "directory holding all data (meta store, log, objects)")
	flags.Alias(f, "port", "proxy.port", "gRPC port of the Milvus API")
	flags.Alias(f, "metrics-port", "common.MetricsPort", "HTTP port of /healthz and /metrics")
	flags.Alias(f, "listen", "milvago.listen", "host or IP address the API and metrics ports bind to (default: all interfaces)")
	flags.Alias(f, "sync-always", "milvago.syncAlways", "fsync every log append before acknowledging it (survives power loss; slower)")
	flags.Alias(f, "log-level", "log.level", "debug, info, warn or error")
	flags.AddKeys(f)
	return cmd
}

func runCommand(run runners) *cobra.Command {
	var file string
	var flags *config.Flags
	cmd := &cobra.Command{
		Use:   "run ROLE",
		Short: "Run one role of a cluster (" + strings.Join(config.Roles(), ", ") + ")",
		Long: `Run one role of a Milvago cluster. The roles share an external etcd (etcd.endpoints), an
S3 object store (minio.*) and a log broker (mq.type: natsmq at milvago.natsmq.url, or kafka at
kafka.brokerList).

Roles: ` + strings.Join(config.Roles(), ", ") + `.
mixcoord runs the four coordinators (rootcoord, datacoord, querycoord, indexcoord) in one
process.

Configuration: defaults < the --config file (milvus.yaml's layout) < environment (Milvus's
names: ETCD_ENDPOINTS, MILVUS_CONF_ETCD_ENDPOINTS) < flags. Every key is a flag; see
docs/cluster.md.`,
		ValidArgs: config.Roles(),
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("want one role: %s", strings.Join(config.Roles(), ", "))
			}
			if !slices.Contains(config.Roles(), args[0]) {
				return fmt.Errorf("unknown role %q: want one of %s", args[0], strings.Join(config.Roles(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, logger, err := loadConfig(cmd, config.Cluster, file, flags)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			err = run.role(ctx, args[0], cfg, logger)
			logger.Info("milvago stopped", "role", args[0])
			return err
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&file, "config", "", "YAML file in milvus.yaml's layout (docs/cluster.md)")
	flags = config.NewFlags()
	flags.AddKeys(f)
	return cmd
}

// loadConfig reads the configuration (file, environment, flags) and
// builds the logger it describes, writing to the command's stderr.
func loadConfig(cmd *cobra.Command, mode config.Mode, file string, flags *config.Flags) (*config.Config, *slog.Logger, error) {
	cfg, report, err := config.Load(config.Options{Mode: mode, File: file, Env: os.Environ(), Flags: flags})
	if err != nil {
		return nil, nil, err
	}
	logger := newLogger(cmd.ErrOrStderr(), cfg.Log)
	report.Log(logger)
	return cfg, logger, nil
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the Milvus API version Milvago implements",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "milvago (Milvus API "+rpc.Version+")")
		},
	}
}

// newLogger is the process's logger: log.level and log.format (text or
// json), to w.
func newLogger(w io.Writer, l config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
