#!/bin/sh
# usage: run4large.sh MILVAGO HNSWLIB_ALT OUTDIR SAMPLES SETS...: the large sets of ../shared/data (built into /tmp/data), Milvago and hnswlib alternating in every sample.
M=$1 H=$2 OUT=$3 S=$4; shift 4
sets=${*:?"name the sets, NAME:PASSES:ef=LIST ..."}  # under /tmp/data: DATA_DIR of ../shared/bench/prepare_data.py
mkdir -p $OUT
for ds in $sets; do
  name=${ds%%:*} rest=${ds#*:}; passes=${rest%%:*} efs=${rest#*:}
  echo "$(date -u +%H:%M:%S) $name $(cat /proc/loadavg)"
  $M bench ann --dataset /tmp/data/$name --index HNSW --metric L2 --build M=16,efConstruction=200 \
    --search $efs --k 10 --queries 1000 --threads 2 \
    --samples $S --passes $passes --hnswlib $H --json > $OUT/$name.jsonl 2> $OUT/$name.err
done
echo "$(date -u +%H:%M:%S) done $(cat /proc/loadavg)"
