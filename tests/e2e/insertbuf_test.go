package e2e

import (
	"os"
	"strconv"

	"github.com/milvago/milvago/internal/datanode"
)

// childInsertBufEnv sets the child server's dataNode.segment.insertBufSize
// (bytes; 0 also turns the memory watermark off: the whole segment stays
// buffered until its seal, as before the data node synced in pieces).
const childInsertBufEnv = "MILVAGO_E2E_INSERT_BUF_SIZE"

// childSyncPolicy is the child server's sync policy: nil (the defaults)
// unless childInsertBufEnv is set.
func childSyncPolicy() *datanode.SyncPolicy {
	v := os.Getenv(childInsertBufEnv)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(childInsertBufEnv + ": " + err.Error())
	}
	pol := datanode.DefaultSyncPolicy()
	pol.InsertBufSize = n
	pol.ForceSyncEnable = n > 0
	return &pol
}
