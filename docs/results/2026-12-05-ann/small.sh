#!/bin/sh
# small.sh BIN TAG ROUNDS DS...: alternate hnswlib and milvago, one JSONL per run
B=$1; T=$2; R=$3; shift 3
mkdir -p /tmp/ann/small
for r in $(seq $R); do for DS in "$@"; do
  D=/work/shared/data/$DS
  echo "$(date -u +%T) $(cat /proc/loadavg) hnswlib $DS r$r" >> /tmp/ann/small/log
  /tmp/ann/hnsw_native $D /tmp/ann/small/$DS-hnswlib-$T-r$r.jsonl 1000 2 2>> /tmp/ann/small/log
  echo "$(date -u +%T) $(cat /proc/loadavg) milvago $DS r$r" >> /tmp/ann/small/log
  $B bench ann --dataset $D --index HNSW --metric L2 --build M=16,efConstruction=200 --search ef=10,16,32,64,128,256,512 --k 10 --queries 1000 --threads 2 --json > /tmp/ann/small/$DS-milvago-$T-r$r.jsonl 2>> /tmp/ann/small/log
done; done
echo "$(date -u +%T) $(cat /proc/loadavg) end" >> /tmp/ann/small/log
