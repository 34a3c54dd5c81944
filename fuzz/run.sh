#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 30), seeded with the
# readers' fixtures, the shared samples, the hand-written seeds in fuzz/seeds/ and the
# files of a generated demo month. Exits non-zero when any target finds a crash (panic,
# overflow, allocation past the limits, timeout); the input is left in
# fuzz/artifacts/TARGET/. Needs `cargo +nightly` and cargo-fuzz (see fuzz/README.md).
#
#   fuzz/run.sh [SECONDS]           every target
#   TARGETS="mt940 detect" fuzz/run.sh 60
#   FUZZ_ARGS="-len_control=0" fuzz/run.sh 600     # extra libFuzzer flags
set -euo pipefail
cd "$(dirname "$0")"
FUZZ=$PWD
ROOT=$(cd .. && pwd)

SECONDS_EACH=${1:-30}
# Inputs larger than this are not generated (seeds are cut to it): large enough for a
# few hundred rows and past the 100-diagnostics limit, small enough to keep mutating fast.
MAX_LEN=${FUZZ_MAX_LEN:-32768}
ALL_TARGETS="amazon_settlement amazon_transactions orders_amazon_all_orders orders_mapping camt053 mt940 alipay wechatpay statement_profile_csv xlsx config_toml detect ledger_documents"
TARGETS=${TARGETS:-$ALL_TARGETS}
SAMPLES=${TIEOUT_SAMPLES:-$ROOT/../shared/samples}
FIXTURES=$ROOT/crates/formats/tests/fixtures
DEMO=$FUZZ/target/demo-seeds
LOGS=$FUZZ/target/logs

echo "== fuzz: build"
cargo +nightly fuzz build

echo "== fuzz: seeds"
if [ ! -f "$DEMO/README.txt" ]; then
  rm -rf "$DEMO"
  mkdir -p "$LOGS"
  (cd "$ROOT" && cargo run -q -p tieout -- demo --orders 1000 --dir "$DEMO" -q >"$LOGS/demo.log" 2>&1) \
    || echo "warning: could not generate the demo month (see $LOGS/demo.log); seeding from fixtures and samples only"
fi

# seed TARGET FILE...: copies each existing file into the target's corpus, cut to MAX_LEN.
seed() {
  local target=$1 file
  shift
  mkdir -p "corpus/$target"
  for file in "$@"; do
    [ -f "$file" ] || continue
    head -c "$MAX_LEN" "$file" >"corpus/$target/seed-$(basename "$(dirname "$file")")-$(basename "$file")"
  done
}

# seed_joined TARGET TOML DATA: one input `TOML\0DATA` (config_toml's layout).
seed_joined() {
  local target=$1 toml=$2 data=$3
  [ -f "$toml" ] && [ -f "$data" ] || return 0
  mkdir -p "corpus/$target"
  { cat "$toml"; printf '\0'; head -c 16384 "$data"; } >"corpus/$target/seed-$(basename "$(dirname "$toml")")-$(basename "$toml")"
}

shopt -s nullglob
for target in $ALL_TARGETS; do
  seed "$target" seeds/"$target"/*
done
seed amazon_settlement "$FIXTURES"/amazon-settlement-* "$SAMPLES"/amazon-settlement-* "$DEMO"/*/settlements/*.txt
seed amazon_transactions "$FIXTURES"/amazon-transactions-*.csv "$DEMO"/*/transactions/*.csv
seed orders_mapping "$DEMO"/*/orders.csv
seed camt053 "$FIXTURES"/camt053* "$SAMPLES"/camt053* "$DEMO"/bank/*.xml
seed mt940 "$FIXTURES"/mt940* "$SAMPLES"/mt940* "$DEMO"/bank/*.sta
seed alipay "$FIXTURES"/alipay* "$SAMPLES"/alipay* "$DEMO"/bank/alipay*.csv
seed statement_profile_csv "$DEMO"/bank/us-*.csv
seed xlsx "$DEMO"/reports/*.xlsx
seed ledger_documents "$DEMO"/counterparties/*.csv seeds/ledger_documents/*
for store in "$DEMO"/acme-*; do
  seed_joined config_toml "$store/orders-mapping.toml" "$store/orders.csv"
done
seed_joined config_toml "$DEMO/bank/lianlian-profile.toml" "$DEMO/bank/us-lianlian-cny.csv"
seed detect "$FIXTURES"/* "$SAMPLES"/* "$DEMO"/*/settlements/*.txt "$DEMO"/*/orders.csv "$DEMO"/*/transactions/*.csv "$DEMO"/bank/* \
  seeds/wechatpay/* seeds/orders_amazon_all_orders/* seeds/statement_profile_csv/*
rm -f corpus/*/seed-*.source.txt

echo "== fuzz: run each target for ${SECONDS_EACH} s"
mkdir -p "$LOGS"
failed=()
for target in $TARGETS; do
  mkdir -p "corpus/$target" "artifacts/$target"
  printf '%-26s ' "$target"
  if cargo +nightly fuzz run "$target" -- \
      -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 ${FUZZ_ARGS:-} >"$LOGS/$target.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$target.log")
    edges=$(grep -o 'cov: [0-9]*' "$LOGS/$target.log" | tail -n1)
    echo "ok ($runs runs, $edges)"
  else
    echo "CRASH (log: $LOGS/$target.log)"
    grep -E '^(thread|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written|.*panicked)' "$LOGS/$target.log" | head -n 20 || true
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; inputs in fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run <target> <file>)"
  exit 1
fi
echo "fuzz: no crash ($(echo "$TARGETS" | wc -w) target(s), ${SECONDS_EACH} s each)"
