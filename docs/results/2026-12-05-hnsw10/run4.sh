#!/bin/sh
# usage: run4.sh MILVAGO HNSWLIB_ALT OUTDIR SAMPLES [SETS...]: the four sets, Milvago and hnswlib alternating in every sample.
M=$1 H=$2 OUT=$3 S=$4; shift 4
sets=${*:-"sift-5k:5:ef=64,128,256,512 glove-100-10k:1:ef=16,32,64,128,256,512 fashion-mnist-10k:1:ef=10,16,32,64,128,256,512 bge-m3-1k:10:ef=10,16,32,64,128,256,512"}
mkdir -p $OUT
for ds in $sets; do
  name=${ds%%:*} rest=${ds#*:}; passes=${rest%%:*} efs=${rest#*:}
  echo "$(date -u +%H:%M:%S) $name $(cat /proc/loadavg)"
  $M bench ann --dataset /work/shared/data/$name --index HNSW --metric L2 --build M=16,efConstruction=200 \
    --search $efs --k 10 --queries 1000 --threads 2 \
    --samples $S --passes $passes --hnswlib $H --json > $OUT/$name.jsonl 2> $OUT/$name.err
done
echo "$(date -u +%H:%M:%S) done $(cat /proc/loadavg)"
