// Command milvago is Milvago's one binary: `milvago standalone` runs every
// role in one process; `milvago bench ann` measures the index engine.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/milvago/milvago/internal/annbench"
	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/rpc"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "milvago",
		Short:         "Milvago: a Milvus-compatible vector database in one Go binary",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(standaloneCommand(), annbench.NewCommand(), versionCommand())
	return root
}

func standaloneCommand() *cobra.Command {
	cfg := app.DefaultStandalone()
	var logLevel string
	cmd := &cobra.Command{
		Use:   "standalone",
		Short: "Run every role in one process (embedded meta store, log and local object store)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			s, err := app.NewStandalone(ctx, cfg, logger)
			if err != nil {
				return err
			}
			err = s.Run(ctx)
			logger.Info("milvago stopped")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory holding all data (meta store, log, objects)")
	f.IntVar(&cfg.Port, "port", cfg.Port, "gRPC port of the Milvus API")
	f.IntVar(&cfg.MetricsPort, "metrics-port", cfg.MetricsPort, "HTTP port of /healthz and /metrics")
	f.BoolVar(&cfg.SyncAlways, "sync-always", cfg.SyncAlways, "fsync every log append before acknowledging it (survives power loss; slower)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
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

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("bad --log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
