#!/bin/sh
# usage: cg.sh LIMIT_BYTES DATA IDX SEARCH MADV(random|normal): the DISKANN search bench in a cgroup v1 memory limit
CG=/sys/fs/cgroup/memory/ann_diskann_$$
mkdir $CG
echo $1 > $CG/memory.limit_in_bytes
sh -c "echo \$\$ > $CG/cgroup.procs; exec env MILVAGO_DISKANN_MADV=$5 MILVAGO_DISKANN_DATA=$2 MILVAGO_DISKANN_FILE=$3 MILVAGO_DISKANN_MODE=search MILVAGO_DISKANN_SEARCH=$4 GOMAXPROCS=1 /tmp/ann/dk/index.test -test.run DiskANNDiskBench -test.v"
echo "cgroup max_usage=$(cat $CG/memory.max_usage_in_bytes) failcnt=$(cat $CG/memory.failcnt) limit=$(cat $CG/memory.limit_in_bytes)"
grep -E "^(total_cache|total_rss|total_mapped_file) " $CG/memory.stat
rmdir $CG
