#!/bin/sh
# usage: cg.sh INDEX_TEST LIMIT_BYTES DATA IDX SEARCH MADV(random|normal):
# the DISKANN search bench (TestDiskANNDiskBench, search mode) in a cgroup v1 memory limit
# (page cache charged to the group); LIMIT_BYTES=0: no cgroup.
T=$1 LIM=$2
shift 2
run() { exec env MILVAGO_DISKANN_MADV=$4 MILVAGO_DISKANN_DATA=$1 MILVAGO_DISKANN_FILE=$2 MILVAGO_DISKANN_MODE=search MILVAGO_DISKANN_SEARCH=$3 GOMAXPROCS=1 $T -test.run DiskANNDiskBench -test.v; }
if [ "$LIM" = 0 ]; then (run "$@"); exit; fi
CG=/sys/fs/cgroup/memory/ann2_diskann_$$
mkdir $CG
echo $LIM > $CG/memory.limit_in_bytes
(sh -c "echo \$\$ > $CG/cgroup.procs; exec env MILVAGO_DISKANN_MADV=$4 MILVAGO_DISKANN_DATA=$1 MILVAGO_DISKANN_FILE=$2 MILVAGO_DISKANN_MODE=search MILVAGO_DISKANN_SEARCH=$3 GOMAXPROCS=1 $T -test.run DiskANNDiskBench -test.v")
echo "cgroup max_usage=$(cat $CG/memory.max_usage_in_bytes) failcnt=$(cat $CG/memory.failcnt) limit=$(cat $CG/memory.limit_in_bytes)"
grep -E "^(total_cache|total_rss|total_mapped_file) " $CG/memory.stat
rmdir $CG
