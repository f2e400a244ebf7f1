#!/bin/sh
# usage: ab.sh DATASET EF ROUNDS N BIN... : alternate the test binaries' HNSWDatasetSearch (cpu-ns per query)
ds=$1 ef=$2 rounds=$3 n=$4; shift 4
for r in $(seq $rounds); do
  for b in "$@"; do
    MILVAGO_DATASET=/work/shared/data/$ds MILVAGO_EF=$ef $b -test.run '^$' -test.bench HNSWDatasetSearch -test.cpu 1 -test.benchtime ${n}x -test.count 3 2>&1 \
      | awk -v b=$(basename $b) -v r=$r -v la="$(cut -d' ' -f1 /proc/loadavg)" '/cpu-ns/{print b, r, la, $5}'
  done
done
