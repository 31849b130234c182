#!/usr/bin/env bash
# Counts with callgrind the user-space instructions of N requests to one
# quickstart route (home or dashboard), server and load generator together,
# after the sign-in and warm-up (BenchmarkQuickstartRoute,
# examples/quickstart/load_bench_test.go). Instruction counts repeat to
# about 1 % on a busy machine, where CPU time does not.
#
#   scripts/callgrind-quickstart.sh home 2000
#   scripts/callgrind-quickstart.sh dashboard 2000
#
# Prints the route's instructions per request; the profile is left in
# $OUT (default /tmp/callgrind-quickstart) for callgrind_annotate (Go's
# stack switching confuses callgrind's call tree: compare self costs).
set -euo pipefail
route=${1:?usage: $0 home|dashboard [requests]}
n=${2:-2000}
out=${OUT:-/tmp/callgrind-quickstart}
cd "$(dirname "$0")/.."
mkdir -p "$out"
sync=$(mktemp -d)
trap 'rm -rf "$sync"' EXIT
go -C examples test -c -o "$out/quickstart.test" ./quickstart/
# Asynchronous preemption's signals trip callgrind's signal handling.
(cd examples/quickstart && GODEBUG=asyncpreemptoff=1 INVITEKIT_LOAD_ROUTE="$route" INVITEKIT_CALLGRIND_SYNC="$sync" \
  exec valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$route.%p" \
  "$out/quickstart.test" -test.run '^$' -test.bench QuickstartRoute -test.benchtime "${n}x" >"$out/$route.log" 2>&1) &
vg=$!
until [ -e "$sync/ready" ]; do
  kill -0 "$vg" 2>/dev/null || { cat "$out/$route.log"; exit 1; }
  sleep 0.5
done
callgrind_control -z "$vg" >/dev/null
touch "$sync/go"
until [ -e "$sync/done" ]; do
  kill -0 "$vg" 2>/dev/null || { cat "$out/$route.log"; exit 1; }
  sleep 0.5
done
callgrind_control -d measured "$vg" >/dev/null
touch "$sync/exit"
wait "$vg"
f=$(ls "$out/callgrind.$route.$vg".* | head -1)
ir=$(awk '/^summary:/{print $2}' "$f")
echo "$route: $n requests, $ir instructions, $((ir / n)) a request ($f)"
