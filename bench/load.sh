#!/usr/bin/env bash
# The team server under load (issue 6): USERS viewers page through /api/differences of a
# reconciled month while a month of ORDERS orders is uploaded and imported into the same
# tenant. Loopback only. Prints one `phase=load ...` line (p50/p99 latency, errors).
#
#   bench/load.sh [ORDERS=1000000] [USERS=50]                 # SQLite data directory
#   TIEOUT_DATABASE_URL=postgres://postgres@127.0.0.1/test bench/load.sh   # PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-1000000}
users=${2:-50}
# BENCH_PROFILE=dev checks the script quickly on a debug build (figures then mean nothing).
if [ "${BENCH_PROFILE:-release}" = dev ]; then
  cargo build -p tieout -p tieout-bench
  bin=target/debug
else
  cargo build --release -p tieout -p tieout-bench
  bin=target/release
fi
out=bench/out/load
mkdir -p "$out"
"$bin/tieout-bench" gen "bench/out/m$orders" "$orders"
"$bin/tieout-bench" gen bench/out/m10000 10000

# Upload specs (store:NAME[:mapping:PATH]:FILE) of a generated month, orders first.
specs() {
  awk '
    $1 == "store" { store = $2; print "store:" $2 ":mapping:" $4 ":" $3 }
    $1 == "settlement" { print "store:" store ":" $2 }
  ' "$1/bench-manifest.txt"
}

data=$(mktemp -d "$out/data.XXXX")
export TIEOUT_PASSWORD="load test password"
server_args=(--data-dir "$data")
if [ -n "${TIEOUT_DATABASE_URL:-}" ]; then
  # A fresh tenant slug per run: the database may hold earlier runs.
  tenant="load$(date +%s)"
else
  tenant=load
fi
"$bin/tieout" tenant add "${server_args[@]}" "$tenant" "Load test" >/dev/null
"$bin/tieout" user add "${server_args[@]}" --tenant "$tenant" --email "clerk@$tenant.test" --role clerk >/dev/null
for n in $(seq 1 "$users"); do
  "$bin/tieout" user add "${server_args[@]}" --tenant "$tenant" --email "viewer$n@$tenant.test" --role viewer >/dev/null
done

# The API in one process; the job worker in another, at the lowest priority, so that
# requests keep the processor while the import runs (BENCH_WORKER=inline: one process).
if [ "${BENCH_WORKER:-separate}" = inline ]; then
  "$bin/tieout" serve "${server_args[@]}" --listen 127.0.0.1:0 --upload-max-mib 1024 >"$out/serve.log" 2>&1 &
  server=$!
  worker=""
else
  "$bin/tieout" serve "${server_args[@]}" --workers 0 --listen 127.0.0.1:0 --upload-max-mib 1024 >"$out/serve.log" 2>&1 &
  server=$!
  nice -n 19 "$bin/tieout" work "${server_args[@]}" >"$out/work.log" 2>&1 &
  worker=$!
fi
trap 'kill $server $worker 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  url=$(grep -so 'http://[0-9.:]*' "$out/serve.log" || true)
  [ -n "$url" ] && break
  sleep 0.1
done
echo "server at $url (log $out/serve.log)"

as_of=$(awk '$1 == "as_of" { print $2 }' bench/out/m10000/bench-manifest.txt)
echo "== setup: a reconciled month of 10000 orders"
mapfile -t small < <(specs bench/out/m10000)
TIEOUT_LOAD_RECONCILE=$as_of "$bin/tieout-load" "$url" "$tenant" "$TIEOUT_PASSWORD" 0 0 -- "${small[@]}"
echo "== load: $users readers while $orders orders are imported"
mapfile -t big < <(specs "bench/out/m$orders")
"$bin/tieout-load" "$url" "$tenant" "$TIEOUT_PASSWORD" "$users" 20 -- "${big[@]}"
grep -o 'VmHWM:.*' "/proc/$server/status" | sed 's/^/server /'
if [ -n "$worker" ]; then grep -o 'VmHWM:.*' "/proc/$worker/status" | sed 's/^/worker /'; fi
