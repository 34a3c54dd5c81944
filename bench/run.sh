#!/usr/bin/env bash
# The benchmark: one documented command, not part of the test suite.
#   bench/run.sh [ORDERS ...]      default: 1000000
# Builds in release, generates each month once (bench/out/<orders>/), then runs each
# phase in its own process and prints one line per phase.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p tieout-bench
bin=target/release/tieout-bench
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000000)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in "${sizes[@]}"; do
  dir=bench/out/$n
  mkdir -p "$dir"
  echo "== $n orders"
  $bin gen "$dir" "$n"
  cat "$dir"/*/settlements/* "$dir"/*/orders.csv > /dev/null   # warm the page cache
  $bin floor "$dir"
  $bin parse "$dir"
  $bin e2e "$dir" "$dir/bench.db"
  $bin reconcile "$dir" "$dir/bench.db"
done
