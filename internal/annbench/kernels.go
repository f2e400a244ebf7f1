package annbench

import "github.com/milvago/milvago/internal/distance"

// kernelName reports which distance kernels the run used.
func kernelName() string { return distance.Accelerated() }
