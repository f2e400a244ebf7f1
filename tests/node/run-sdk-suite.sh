#!/usr/bin/env bash
# Runs the Milvus Node SDK's own jest suites (test/grpc, test/http) against a
# running Milvago, one spec file at a time, and prints pass/fail counts per file.
#
#   tests/node/run-sdk-suite.sh SDKDIR ADDRESS OUTDIR [SPEC...]
#
# SDKDIR: an extracted milvus-sdk-node checkout at the tag tests/node pins
# (v2.6.9) with its dev dependencies installed (npm install). Its
# test/tools/ip.ts hard-codes 127.0.0.1:19530; this script rewrites it to read
# MILVUS_ADDRESS. ADDRESS: host:port of the server (gRPC and REST v2).
# Without SPEC arguments every spec under test/grpc and test/http runs except
# cloud.spec.ts and serverless.spec.ts (they need Zilliz Cloud).
# Start the server with --quotaAndLimits.limitWriting.diskProtection.enabled=false
# on a shared machine: above 95% disk use the quota center refuses inserts
# (ForceDeny), as it should, and whole spec files fail on that instead.
set -u
sdk=${1:?SDKDIR}; addr=${2:?ADDRESS}; out=${3:?OUTDIR}; shift 3
mkdir -p "$out" && out=$(cd "$out" && pwd) # jest runs from SDKDIR
cat > "$sdk/test/tools/ip.ts" <<'TS'
// test IP (overridable with MILVUS_ADDRESS)
export const IP = process.env.MILVUS_ADDRESS || '127.0.0.1:19530';
export const ENDPOINT = `http://${IP}`;
TS
if [ $# -eq 0 ]; then
  set -- $(cd "$sdk" && ls test/grpc/*.spec.ts test/http/*.spec.ts | grep -v -E "/(cloud|serverless)\.spec\.ts$")
fi
: > "$out/results.txt"
jsons=()
for spec in "$@"; do
  name=$(basename "$spec" .spec.ts); dir=$(basename "$(dirname "$spec")")
  # A JSON left by an earlier run into OUT must not stand in for this one's.
  rm -f "$out/$dir-$name.json"
  jsons+=("$out/$dir-$name.json")
  (cd "$sdk" && MILVUS_ADDRESS="$addr" NODE_ENV=dev npx jest "$spec" --runInBand \
     --json --outputFile="$out/$dir-$name.json" > "$out/$dir-$name.out" 2>&1)
  node -e '
    const r = require(process.argv[1]);
    console.log(process.argv[2].padEnd(34), "passed", String(r.numPassedTests).padStart(3),
      "failed", String(r.numFailedTests).padStart(3), "total", String(r.numTotalTests).padStart(3),
      r.testResults.map(t => t.message && !r.numTotalTests ? "(suite error)" : "").join(""));
  ' "$out/$dir-$name.json" "$dir/$name" 2>/dev/null | tee -a "$out/results.txt" \
    || echo "$dir/$name no result (see $out/$dir-$name.out)" | tee -a "$out/results.txt"
done
# The run's total and every test that did not pass, with the first line of
# its failure (OUT/failures.txt).
node -e '
  const fs = require("fs");
  let passed = 0, total = 0, files = 0; const fails = [];
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { fails.push(`${f}: no result`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    files++; passed += r.numPassedTests; total += r.numTotalTests;
    for (const t of r.testResults) {
      if (!r.numTotalTests) fails.push(`${f}: suite error: ${(t.message || "").split("\n")[0]}`);
      for (const a of t.assertionResults) if (a.status !== "passed")
        fails.push(`${a.fullName} | ${(a.failureMessages[0] || a.status).split("\n")[0]}`);
    }
  }
  console.log(`total: passed ${passed} of ${total} in ${files} files`);
  for (const l of fails) console.log("  " + l);
' "${jsons[@]}" | tee "$out/failures.txt" | tee -a "$out/results.txt"
