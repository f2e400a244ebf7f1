#!/bin/sh
# usage: small.sh MILVAGO HNSWLIB_ALT OUTDIR: the three in-cache sets, Milvago and hnswlib alternating
# in every sample (15 samples; sift-5k has 100 queries, so 5 passes per sample).
set -e
M=$1 H=$2 OUT=$3
for ds in sift-5k:5 glove-100-10k:1 fashion-mnist-10k:1; do
  name=${ds%%:*} passes=${ds##*:}
  echo "$(date -u +%H:%M:%S) $name $(cat /proc/loadavg)"
  $M bench ann --dataset /work/shared/data/$name --index HNSW --metric L2 --build M=16,efConstruction=200 \
    --search ef=10,16,32,64,128,256,512 --k 10 --queries 1000 --threads 2 \
    --samples 15 --passes $passes --hnswlib $H --json > $OUT/$name.jsonl 2> $OUT/$name.err
done
echo "$(date -u +%H:%M:%S) done $(cat /proc/loadavg)"
