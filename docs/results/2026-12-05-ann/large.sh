#!/bin/sh
# usage: large.sh MILVAGO_BIN TAG DATASET_DIR
B=$1; T=$2; D=$3; N=$(basename $D)
O=/tmp/ann/large/$N-$T.jsonl
date -u +%T >> /tmp/ann/large/log; uptime >> /tmp/ann/large/log
/tmp/ann/hnsw_native $D $O 1000 2 2>> /tmp/ann/large/log
uptime >> /tmp/ann/large/log
$B bench ann --dataset $D --index HNSW --metric L2 --build M=16,efConstruction=200 --search ef=10,16,32,64,128,256,512 --k 10 --queries 1000 --threads 2 --json >> $O 2>> /tmp/ann/large/log
date -u +%T >> /tmp/ann/large/log; uptime >> /tmp/ann/large/log
