package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/config"
)

func recoverCommand() *cobra.Command {
	var dataDir, file string
	var yes bool
	cmd := &cobra.Command{
		Use:   "recover (--data-dir DIR | --config FILE) status|meta|log|objects [--yes]",
		Short: "Diagnose and recover a deployment whose meta store, log or object store was lost or replaced",
		Long: `The meta store (etcd), the log (NATS JetStream or Kafka) and the object store carry one
cluster identity, written at first start; every start (standalone, and each cluster role)
checks it and refuses to serve when a store is missing or belongs to another cluster, naming
the store. Run this with the deployment stopped: --data-dir DIR for a standalone, --config
FILE (the roles' milvus.yaml) for a cluster (refused while any role has a live session).

  status   Print each store's identity and what a start would say. Changes nothing.

  log      Adopt a new log after the old one was lost (e.g. a deleted log directory).
           Rebuilt: every channel checkpoint moves to the new log's end, so new writes are
           read again; whatever the adopted log held on the collections' channels is
           truncated. Kept: every flushed segment, index and flushed delete, and all metadata.
           Lost: rows and deletes written after the last flush (they were only in the old
           log); segments that were not flushed are dropped and listed.

  meta     Adopt an empty (wiped or new) meta store, taking the identity of the object store
           and the log. Rebuilt: the identity, and the ID and timestamp counters, which
           resume above the object store's high-water mark, so no ID is ever reused and no
           old message or file is read as new data. Lost: everything only the meta store
           held: databases, collections and their schemas, partitions, aliases, index
           definitions, users and roles, load state. The old files and messages stay, unread.

  objects  Adopt a new object store after the old one was lost. Rebuilt: the identity and
           the high-water mark (from the meta store's counters). Lost: every flushed
           segment's binlogs, delete logs and index files; loading a collection that needs
           them fails and GetLoadState names the missing file.

Every action but status needs --yes. Details: docs/recovery.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := app.RecoverTarget{DataDir: dataDir}
			switch {
			case dataDir != "" && file != "":
				return errors.New("give --data-dir (standalone) or --config (cluster), not both")
			case dataDir == "" && file == "":
				return errors.New("give --data-dir DIR (standalone) or --config FILE (cluster)")
			case file != "":
				cfg, _, err := config.Load(config.Options{Mode: config.Cluster, File: file, Env: os.Environ()})
				if err != nil {
					return err
				}
				t.Cluster = cfg
			}
			return app.Recover(cmd.Context(), t, args[0], yes, cmd.OutOrStdout(), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "", "a standalone's data directory")
	f.StringVar(&file, "config", "", "a cluster's configuration file (milvus.yaml layout)")
	f.BoolVar(&yes, "yes", false, "confirm an action that changes the stores")
	return cmd
}
