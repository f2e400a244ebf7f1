#!/bin/sh
B=/tmp/ann/milvago-v2; T=v2
for r in 4 5; do for DS in sift-5k glove-100-10k; do
  D=/work/shared/data/$DS
  echo "$(date -u +%T) $(cat /proc/loadavg) hnswlib $DS r$r" >> /tmp/ann/small/log
  /tmp/ann/hnsw_native $D /tmp/ann/small/$DS-hnswlib-$T-r$r.jsonl 1000 2 2>> /tmp/ann/small/log
  echo "$(date -u +%T) $(cat /proc/loadavg) milvago $DS r$r" >> /tmp/ann/small/log
  $B bench ann --dataset $D --index HNSW --metric L2 --build M=16,efConstruction=200 --search ef=10,16,32,64,128,256,512 --k 10 --queries 1000 --threads 2 --json > /tmp/ann/small/$DS-milvago-$T-r$r.jsonl 2>> /tmp/ann/small/log
done; done
echo "$(date -u +%T) $(cat /proc/loadavg) end2" >> /tmp/ann/small/log
