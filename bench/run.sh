#!/usr/bin/env bash
# The benchmark: one documented command, not part of the test suite.
#   bench/run.sh [ORDERS ...]      default: 1000000 (e.g. bench/run.sh 100000 1000000 5000000)
# Builds in release, generates each month once (bench/out/<orders>/), then runs, each in
# its own process and on the same files: the floor, tieout's parse, tieout end to end
# (import + reconcile), tieout's reconcile alone, the DuckDB reference and the pandas
# reference (bench/reference/). Each is measured from outside (wall, user + sys CPU, peak
# RSS: /usr/bin/time, or bench/reference/measure.py without it); each per-order result
# (tieout's, DuckDB's, pandas') is checked against the generator's truth.csv. The
# references' payout <-> receipt matching (bank/) is run and checked against
# receipts-truth.csv afterwards, untimed (tieout's e2e phase imports no statements).
# Prints one Markdown table per size (also in bench/out/<orders>/table.md).
#
# The references' Python packages (bench/reference/requirements.txt) are installed into
# bench/.venv on first use. PYTHON chooses the interpreter the venv is made with.
# BENCH_PANDAS=always|never overrides the memory estimate that decides whether pandas runs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p tieout-bench
bin=target/release/tieout-bench
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000000)

# The references' Python environment.
venv=bench/.venv
py=$venv/bin/python
if ! { [ -x "$py" ] && "$py" -c 'import duckdb, pandas, pyarrow' 2>/dev/null; }; then
  echo "installing the references' packages into $venv (bench/reference/requirements.txt)"
  "${PYTHON:-python3}" -m venv "$venv"
  "$py" -m pip install --quiet --disable-pip-version-check -r bench/reference/requirements.txt
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
echo "machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
echo "python: $("$py" -c 'import sys, duckdb, pandas; print(sys.version.split()[0], "duckdb", duckdb.__version__, "pandas", pandas.__version__)')"

# measure TOOL COMMAND...: runs it, appends `tool wall user sys rss_kib exit` to $log.
measure() {
  local tool=$1
  shift
  local out
  out=$(mktemp)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%e %U %S %M %x' -o "$out" "$@" || true
  else
    "$py" bench/reference/measure.py "$out" -- "$@" || true
  fi
  # GNU time writes "Command exited with non-zero status N" before the figures.
  read -r wall user sys rss code < <(tail -n 1 "$out")
  rm -f "$out"
  printf '%s\t%s\t%s\t%s\t%s\t%s' "$tool" "$wall" "$user" "$sys" "$rss" "$code" >> "$log"
}

# check RESULT: compares a per-order result with truth.csv, ends the tool's row with yes/no.
check() {
  if "$py" bench/reference/check.py "$dir" "$1" > "$dir/results/check.log" 2>&1; then
    printf '\tyes\n' >> "$log"
  else
    printf '\tno\n' >> "$log"
    cat "$dir/results/check.log"
  fi
  tail -n 1 "$dir/results/check.log"
}

# receipts TOOL: the reference's payout <-> receipt matching (bank/, untimed: tieout's e2e
# phase imports no statements), checked against receipts-truth.csv; one row in $receipts_log.
receipts() {
  local out=$dir/results/$1-receipts.csv
  if "$py" "bench/reference/$1_reference.py" "$dir" --receipts only --receipts-out "$out" > "$dir/results/receipts.log" 2>&1 &&
    "$py" bench/reference/check.py --receipts "$dir" "$out" > "$dir/results/check.log" 2>&1; then
    printf '%s\tyes\t%s\n' "$1" "$(grep -c . "$dir/receipts-truth.csv")" >> "$receipts_log"
  else
    printf '%s\tno\t%s\n' "$1" "$(grep -c . "$dir/receipts-truth.csv")" >> "$receipts_log"
    cat "$dir/results/receipts.log" "$dir/results/check.log"
  fi
  tail -n 1 "$dir/results/check.log"
}

for n in "${sizes[@]}"; do
  dir=bench/out/$n
  mkdir -p "$dir/results"
  log=$dir/results/measurements.tsv
  receipts_log=$dir/results/receipts.tsv
  : > "$log"
  : > "$receipts_log"
  echo "== $n orders"
  $bin gen "$dir" "$n"
  cat "$dir"/*/settlements/* "$dir"/*/orders.csv > /dev/null   # warm the page cache
  input_kib=$(du -ckL "$dir"/*/settlements/* "$dir"/*/orders.csv | tail -n 1 | cut -f1)

  measure floor $bin floor "$dir"; printf '\t-\n' >> "$log"
  measure parse $bin parse "$dir"; printf '\t-\n' >> "$log"
  measure e2e $bin e2e "$dir" "$dir/bench.db"
  $bin results "$dir" "$dir/bench.db" "$dir/results/tieout-orders.csv"
  check "$dir/results/tieout-orders.csv"
  measure reconcile $bin reconcile "$dir" "$dir/bench.db"
  check "$dir/results/tieout-orders.csv"   # the reconcile phase replaced the results

  measure duckdb "$py" bench/reference/duckdb_reference.py "$dir" --receipts without --out "$dir/results/duckdb-orders.csv"
  check "$dir/results/duckdb-orders.csv"
  receipts duckdb

  # pandas holds every line in memory: measured peak 4.8 × the input files' size at 1 M
  # orders (4.76 GiB for 1001 MiB), plus the interpreter. Run it only where 200 MiB +
  # 5.5 × the input fits in the available memory (so not at 5 M orders on 24 GiB).
  available_kib=$(awk '/MemAvailable:/ {print $2}' /proc/meminfo)
  needed_kib=$((204800 + input_kib * 11 / 2))
  reason=
  if [ "${BENCH_PANDAS:-}" = never ]; then
    reason="BENCH_PANDAS=never"
  elif [ "${BENCH_PANDAS:-}" != always ] && [ "$needed_kib" -gt "$available_kib" ]; then
    reason="pandas would need about $((needed_kib / 1048576)) GiB (200 MiB + 5.5 × $((input_kib / 1024)) MiB of input), $((available_kib / 1048576)) GiB are available"
  fi
  if [ -n "$reason" ]; then
    echo "phase=pandas skipped: $reason"
    printf 'pandas\t-\t-\t-\t-\t-\t-\t%s\n' "$reason" >> "$log"
  else
    measure pandas "$py" bench/reference/pandas_reference.py "$dir" --receipts without --out "$dir/results/pandas-orders.csv"
    check "$dir/results/pandas-orders.csv"
  fi
  receipts pandas   # small files: pandas reads only the settlements' summary rows here

  echo
  echo "$n orders, $((input_kib / 1024)) MiB of input files:"
  "$py" bench/reference/table.py "$log" "$receipts_log" | tee "$dir/table.md"
done

# The next file into a store that holds a year (issue 4): BENCH_INCREMENTAL=MONTHS (e.g.
# 12) imports that many months of 100 000 orders, then times the next month's largest
# settlement file and an order export into it and into a fresh store.
if [ -n "${BENCH_INCREMENTAL:-}" ]; then
  echo "== incremental: ${BENCH_INCREMENTAL} months of 100000 orders"
  $bin incremental bench/out/incremental 100000 "$BENCH_INCREMENTAL"
fi
