package contract

// Import job states, as Milvus 2.6 names them (internalpb.ImportJobState).
const (
	ImportPending   = "Pending"
	ImportImporting = "Importing"
	ImportCompleted = "Completed"
	ImportFailed    = "Failed"
)

// ImportJob is a bulk import, owned by datacoord (persisted in the meta
// store) and executed by a data node.
type ImportJob struct {
	ID             int64             `json:"id"`
	DBName         string            `json:"db_name"`
	CollectionID   int64             `json:"collection_id"`
	CollectionName string            `json:"collection_name"`
	PartitionName  string            `json:"partition_name,omitempty"`
	Files          [][]string        `json:"files"`
	Options        map[string]string `json:"options,omitempty"`
	// TS is the timestamp every imported row carries.
	TS           uint64  `json:"ts"`
	State        string  `json:"state"`
	Reason       string  `json:"reason,omitempty"`
	Progress     int64   `json:"progress"` // 0-100
	ImportedRows int64   `json:"imported_rows"`
	TotalRows    int64   `json:"total_rows"`
	Segments     []int64 `json:"segments,omitempty"`
	// Committed marks a job whose segments are registered: what is left is
	// handing them off, then Completed (a restart does only that).
	Committed    bool  `json:"committed,omitempty"`
	CreateTime   int64 `json:"create_time"` // unix milliseconds
	CompleteTime int64 `json:"complete_time,omitempty"`
}
