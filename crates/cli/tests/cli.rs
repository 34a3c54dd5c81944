//! The `tieout` binary, run for real in a temporary directory, as a user would.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const V2_SAMPLE: &str = "amazon-settlement-v2_us_settlement-sample.txt";
const V1_SAMPLE: &str = "amazon-settlement-flatfile-v1_amazon-ca_50018020314.txt";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/tests/fixtures").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn tieout(dir: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_tieout"))
        .args(args)
        .current_dir(dir)
        .env_remove("TIEOUT_DB")
        .env_remove("TIEOUT_CONFIG")
        .env_remove("TIEOUT_LOG")
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Row counts per table, from `tieout status`.
fn counts(dir: &Path) -> HashMap<String, i64> {
    let run = tieout(dir, &["status"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (name, count) = (parts.next()?, parts.next()?);
            Some((name.to_owned(), count.parse().ok()?))
        })
        .collect()
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("header").split(',').map(str::to_owned).collect();
    let rows = lines
        .map(|line| {
            // Quoted fields only appear in the last (explanation) column.
            let fields: Vec<&str> = line.splitn(header.len(), ',').collect();
            header.iter().cloned().zip(fields.iter().map(|f| (*f).to_owned())).collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn demo_classification_equals_the_generators_ground_truth() {
    let temp = tempfile::tempdir().unwrap();
    let run = tieout(temp.path(), &["demo", "--dir", "month", "--orders", "3000", "--seed", "7"]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("agree with the generator's ground truth"), "{}", run.stdout);
    let month = temp.path().join("month");
    assert!(
        run.stdout.contains("every payout and receipt, and the roll-forward of every store and month agree"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Receivables roll-forward 2026-10"), "the demo prints the month's roll-forward");
    for report in [
        "differences.csv",
        "orders.csv",
        "settlements.csv",
        "receipts.csv",
        "receivables.csv",
        "aging.csv",
        "tieout-demo.xlsx",
    ] {
        assert!(month.join("reports").join(report).exists(), "{report} written");
    }

    // Independently of the demo's own check: the orders CSV equals truth.csv, order by order.
    let (header, rows) = read_csv(&month.join("reports/orders.csv"));
    assert_eq!(
        header[..7],
        ["order_id", "store", "marketplace", "currency", "order_amount", "settled_amount", "category"]
    );
    let got: HashMap<String, String> = rows.iter().map(|r| (r["order_id"].clone(), r["category"].clone())).collect();
    let truth_text = std::fs::read_to_string(month.join("truth.csv")).unwrap();
    let truth: HashMap<String, String> = truth_text
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[0].to_owned(), fields[2].to_owned())
        })
        .collect();
    assert_eq!(got.len(), truth.len());
    let wrong: Vec<_> = truth.iter().filter(|(id, category)| got.get(*id) != Some(category)).take(5).collect();
    assert!(wrong.is_empty(), "orders whose category differs from the truth: {wrong:?}");
    let categories: BTreeSet<&str> = truth.values().map(String::as_str).collect();
    assert_eq!(
        categories,
        BTreeSet::from([
            "amount_mismatch",
            "cancelled_but_settled",
            "duplicate_settlement_line",
            "fee_anomaly",
            "matched",
            "not_due",
            "refunded_not_written_off",
            "settled_not_in_orders",
            "shipped_not_settled",
        ]),
        "the demo month exercises every category"
    );

    // The demo's inconsistent settlement is reported as such.
    assert!(run.stdout.contains("is INCONSISTENT"), "{}", run.stdout);
    let differences = std::fs::read_to_string(month.join("reports/differences.inconsistent_settlements.csv")).unwrap();
    assert_eq!(differences.lines().count(), 2, "one inconsistent settlement:\n{differences}");
}

#[test]
fn every_amazon_sample_imports_and_the_same_file_twice_adds_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let (v2, v1) = (fixture(V2_SAMPLE), fixture(V1_SAMPLE));
    let run = tieout(temp.path(), &["import", "--store", "acme", v2.to_str().unwrap(), v1.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("flat file V2"), "{}", run.stderr);
    assert!(run.stderr.contains("legacy flat file V1"), "{}", run.stderr);
    let before = counts(temp.path());
    assert_eq!(before["settlement"], 2);
    assert_eq!(before["settlement_line"], 23 + 15);

    let again = tieout(temp.path(), &["import", "--store", "acme", v2.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("already imported"), "{}", again.stderr);
    assert_eq!(counts(temp.path()), before);

    // The same settlement in a different file (here: re-saved with CRLF) is not counted twice.
    let crlf = temp.path().join("resaved.txt");
    let text = String::from_utf8(fixture_bytes(V2_SAMPLE)).unwrap().replace('\n', "\r\n");
    std::fs::write(&crlf, text).unwrap();
    let resaved = tieout(temp.path(), &["import", "--store", "acme", "resaved.txt"]);
    assert_eq!(resaved.code, 0, "{}", resaved.stderr);
    assert!(resaved.stderr.contains("settlement 28471003921 was already imported from"), "{}", resaved.stderr);
    let after = counts(temp.path());
    assert_eq!(after["settlement_line"], before["settlement_line"]);
    assert_eq!(after["settlement"], 2);
}

/// Writes `bytes` as `name` in `dir` and imports it; returns the run.
fn import_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Run {
    std::fs::write(dir.join(name), bytes).unwrap();
    tieout(dir, &["import", name])
}

fn v2_sample_with(from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture_bytes(V2_SAMPLE)).unwrap();
    assert!(text.contains(from), "the sample contains {from:?}");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn bad_input_is_refused_with_file_line_and_column_and_nothing_is_stored() {
    let sample = fixture_bytes(V2_SAMPLE);
    let truncated = &sample[..sample.len() - 40];
    let mut not_utf8 = sample.clone();
    let at = not_utf8.windows(7).position(|w| w == b"Storage").unwrap();
    not_utf8[at] = 0xB6;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.txt", truncated.to_vec(), "truncated.txt:25:"),
        ("commas.txt", String::from_utf8(sample.clone()).unwrap().replace('\t', ",").into_bytes(), "commas.txt:1"),
        (
            "unknown-header.txt",
            v2_sample_with("\tamount\t", "\tamuont\t"),
            "columns it does not know: 'amuont' (column 15)",
        ),
        ("gbk.txt", not_utf8, "gbk.txt:19:"),
        ("bad-number.txt", v2_sample_with("129.99", "129.9x"), "bad-number.txt:3:15"),
        ("bad-date.txt", v2_sample_with("2026-06-17 08:14:22 UTC", "2026-02-30 08:14:22 UTC"), "bad-date.txt:3:18"),
        ("statement.pdf", b"%PDF-1.7\n%binary".to_vec(), "unknown format"),
    ];
    for (name, bytes, expected) in cases {
        let temp = tempfile::tempdir().unwrap();
        let run = import_bytes(temp.path(), name, &bytes);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("REFUSED"), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{name}: expected {expected:?} in:\n{}", run.stderr);
        assert!(run.stderr.contains("error:"), "{name}: {}", run.stderr);
        let stored = counts(temp.path());
        for table in ["source_file", "settlement", "settlement_line", "order_item"] {
            assert_eq!(stored[table], 0, "{name}: nothing of a refused file is stored ({table})");
        }
    }
    // The unknown format names the formats tieout knows.
    let temp = tempfile::tempdir().unwrap();
    let run = import_bytes(temp.path(), "x.pdf", b"%PDF-1.7");
    assert!(run.stderr.contains("amazon-settlement-v2") && run.stderr.contains("erp-orders"), "{}", run.stderr);
}

#[test]
fn an_inconsistent_settlement_is_imported_marked_and_reported() {
    let temp = tempfile::tempdir().unwrap();
    let run = import_bytes(temp.path(), "short.txt", &v2_sample_with("582.89", "592.89"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("inconsistent"), "{}", run.stderr);
    assert!(run.stderr.contains("10.00"), "{}", run.stderr);
    let reconcile = tieout(temp.path(), &["reconcile", "--as-of", "2026-07-10"]);
    assert_eq!(reconcile.code, 1);
    assert!(reconcile.stdout.contains("settlement 28471003921 (default) is INCONSISTENT"), "{}", reconcile.stdout);
    let report = tieout(temp.path(), &["report", "settlements", "--format", "csv"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let row = report.stdout.lines().nth(1).unwrap();
    assert!(row.contains("592.89,582.89,10.00,NO"), "{row}");
}

const ERP_MAPPING: &str = r#"
[source]
format = "csv"
delimiter = ","
header_row = 1
number_style = "dot"
date_format = "%Y-%m-%d"
[columns]
order_id = "order_no"
store = "store"
marketplace = "marketplace"
purchase_date = "order_date"
ship_date = "ship_date"
status = "status"
currency = "currency"
sku = "sku"
quantity = "qty"
item_price = "price"
shipping_price = "shipping"
discount = "discount"
refunded_amount = "refunded"
"#;

/// A tiny month: one order, settled exactly.
const ONE_ORDER_SETTLEMENT: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id
11111111111\t2026-10-01 00:00:00 UTC\t2026-10-14 23:59:59 UTC\t2026-10-16 00:00:00 UTC\t84.25\tUSD\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t
11111111111\t\t\t\t\tUSD\tOrder\t111-0000001-0000001\t\t\tS1\tAmazon.com\tItemPrice\tPrincipal\t100.00\tAFN\t2026-10-05\t2026-10-05 10:00:00 UTC\t10000000000001\t\t\tSKU-1\t1\t
11111111111\t\t\t\t\tUSD\tOrder\t111-0000001-0000001\t\t\tS1\tAmazon.com\tItemFees\tCommission\t-15.00\tAFN\t2026-10-05\t2026-10-05 10:00:00 UTC\t10000000000001\t\t\tSKU-1\t1\t
11111111111\t\t\t\t\tUSD\tOrder\t111-0000001-0000001\t\t\tS1\tAmazon.com\tItemFees\tFBAPerUnitFulfillmentFee\t-0.75\tAFN\t2026-10-05\t2026-10-05 10:00:00 UTC\t10000000000001\t\t\tSKU-1\t1\t
";

#[test]
fn a_month_that_ties_out_exits_zero_and_explain_shows_the_chain() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    std::fs::write(dir.join("mapping.toml"), ERP_MAPPING).unwrap();
    std::fs::write(
        dir.join("orders.csv"),
        "order_no,store,marketplace,order_date,ship_date,status,currency,sku,qty,price,shipping,discount,refunded\n\
         111-0000001-0000001,acme-us,Amazon.com,2026-10-04,2026-10-05,Shipped,USD,SKU-1,1,100.00,0,0,\n\
         111-0000002-0000002,acme-us,Amazon.com,2026-10-30,,Unshipped,USD,SKU-2,1,20.00,0,0,\n",
    )
    .unwrap();
    std::fs::write(dir.join("settlement.txt"), ONE_ORDER_SETTLEMENT).unwrap();
    std::fs::write(
        dir.join("tieout.toml"),
        "[[fees]]\nreferral_rate_basis_points = 1500\nfba_fee_per_unit_minor = 75\n",
    )
    .unwrap();
    let run = tieout(dir, &["import", "--mapping", "mapping.toml", "orders.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("2 order(s)"), "{}", run.stderr);
    let run = tieout(dir, &["import", "--store", "acme-us", "settlement.txt"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The payout arrived too: without it, the payout would be missing by the 31st.
    std::fs::write(
        dir.join("payoneer.csv"),
        "Date,Description,Amount,Currency,Transaction ID
2026-10-16,AMAZON 11111111111,84.25,USD,PY-9
",
    )
    .unwrap();
    let run = tieout(dir, &["import", "--profile", "payoneer", "payoneer.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tieout(dir, &["reconcile", "--as-of", "2026-10-31"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Everything tied out"), "{}", run.stdout);

    let explain = tieout(dir, &["explain", "111-0000001-0000001"]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(explain.stdout.contains("order export orders.csv:2"), "{}", explain.stdout);
    assert!(explain.stdout.contains("settlement.txt:3"), "{}", explain.stdout);
    assert!(explain.stdout.contains("category: matched"), "{}", explain.stdout);

    let orders = tieout(dir, &["report", "orders", "--format", "json"]);
    assert_eq!(orders.code, 0, "{}", orders.stderr);
    assert!(orders.stdout.contains("\"order_amount\": \"100.00\""), "{}", orders.stdout);
    assert!(orders.stdout.contains("\"category\": \"not_due\""), "{}", orders.stdout);

    // A later export with a changed status replaces the order, and a difference appears.
    std::fs::write(
        dir.join("orders-2.csv"),
        "order_no,store,marketplace,order_date,ship_date,status,currency,sku,qty,price,shipping,discount,refunded\n\
         111-0000002-0000002,acme-us,Amazon.com,2026-10-30,2026-10-31,Shipped,USD,SKU-2,1,20.00,0,0,\n",
    )
    .unwrap();
    let run = tieout(dir, &["import", "--mapping", "mapping.toml", "orders-2.csv"]);
    assert!(run.stderr.contains("1 order(s) were in an earlier export"), "{}", run.stderr);
    let run = tieout(dir, &["reconcile", "--as-of", "2026-11-03"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let differences = tieout(dir, &["report", "differences", "--format", "csv"]);
    assert_eq!(differences.code, 1);
    assert!(
        differences.stdout.contains("111-0000002-0000002,acme-us,amazon.com,USD,20.00,0.00,shipped_not_settled"),
        "{}",
        differences.stdout
    );
    assert!(differences.stdout.contains(",3,"), "days since ship: {}", differences.stdout);
}

#[test]
fn help_speaks_to_a_finance_user() {
    let temp = tempfile::tempdir().unwrap();
    let run = tieout(temp.path(), &["--help"]);
    assert_eq!(run.code, 0);
    for command in ["import", "reconcile", "report", "explain", "demo"] {
        assert!(run.stdout.contains(command), "{command} in --help");
    }
    let run = tieout(temp.path(), &["report", "orders", "--period", "October"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("YYYY-MM"), "{}", run.stderr);
    let run = tieout(temp.path(), &["explain", "111-0000009-0000009"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("in no imported file"), "{}", run.stderr);
}

#[test]
fn bank_and_wallet_statements_import_with_their_balance_findings() {
    let temp = tempfile::tempdir().unwrap();
    let files = ["camt053.v2.minimal.xml", "mt940_ing.sta", "alipay-personal-bill_gbk_example-alipay-records.csv"];
    let paths: Vec<String> = files.iter().map(|f| fixture(f).display().to_string()).collect();
    let mut args = vec!["import"];
    args.extend(paths.iter().map(String::as_str));
    let run = tieout(temp.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("camt.053 (XML): 1 statement(s), 1 entry"), "{}", run.stderr);
    assert!(run.stderr.contains("the balance check cannot be made"), "camt balances in two currencies: {}", run.stderr);
    assert!(run.stderr.contains("does not roll"), "MT940 sample's balances do not roll: {}", run.stderr);
    assert!(run.stderr.contains("(difference 49.06 EUR)"), "{}", run.stderr);
    assert!(run.stderr.contains("支付宝"), "{}", run.stderr);
    let stored = counts(temp.path());
    assert_eq!((stored["statement"], stored["statement_entry"]), (3, 13));
    // The same files again add nothing.
    let again = tieout(temp.path(), &args);
    assert_eq!(again.code, 0);
    assert_eq!(again.stderr.matches("already imported").count(), 3, "{}", again.stderr);
    assert_eq!(counts(temp.path()), stored);
}

#[test]
fn bad_statements_are_refused_with_file_line_and_column() {
    let camt = String::from_utf8(fixture_bytes("camt053.v2.minimal.xml")).unwrap();
    let truncated_xml = camt[..camt.len() / 2].replace("</Stmt>", "");
    let broken_xml = camt.replacen("</Ntry>", "</Entry>", 1);
    let mt940 = String::from_utf8_lossy(&fixture_bytes("mt940_ing.sta")).into_owned();
    let without_closing: String = mt940.lines().filter(|l| !l.starts_with(":62F:")).map(|l| format!("{l}\n")).collect();
    // A GBK file once opened as UTF-8 and saved again: its Chinese is mojibake.
    let gbk = fixture_bytes("alipay-personal-bill_gbk_example-alipay-records.csv");
    let mojibake: String = gbk.iter().map(|b| *b as char).collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("broken.xml", broken_xml.into_bytes(), "broken.xml:"),
        ("truncated.xml", truncated_xml.into_bytes(), "truncated.xml:"),
        ("no-closing.sta", without_closing.into_bytes(), ":62F:"),
        ("mojibake.csv", mojibake.into_bytes(), "mojibake.csv"),
    ];
    for (name, bytes, expected) in cases {
        let temp = tempfile::tempdir().unwrap();
        let run = import_bytes(temp.path(), name, &bytes);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("REFUSED"), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{name}: expected {expected:?} in:\n{}", run.stderr);
        let stored = counts(temp.path());
        assert_eq!((stored["statement"], stored["statement_entry"], stored["source_file"]), (0, 0, 0), "{name}");
    }
}

#[test]
fn payouts_are_tied_to_receipts_and_explained() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let v2 = fixture(V2_SAMPLE);
    let run = tieout(dir, &["import", "--store", "acme-us", v2.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Payoneer (built-in profile): the payout a day after its deposit date, an Amazon
    // credit no settlement expects, and a credit that is no payout at all.
    std::fs::write(
        dir.join("payoneer.csv"),
        "Date,Description,Amount,Currency,Transaction ID\n\
         2026-07-03,AMAZON.COM SERVICES 28471003921,582.89,USD,PY-1\n\
         2026-07-05,AMAZON PAYMENTS,10.00,USD,PY-2\n\
         2026-07-06,Client refund,99.00,USD,PY-3\n",
    )
    .unwrap();
    let run = tieout(dir, &["import", "--profile", "payoneer", "payoneer.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A dry run shows the matches and writes nothing.
    let dry = tieout(dir, &["reconcile", "--dry-run", "--as-of", "2026-09-01"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("received") && dry.stdout.contains("exact-amount-with-reference"), "{}", dry.stdout);
    assert_eq!(counts(dir)["receipt_result"], 0, "a dry run writes nothing");
    let run = tieout(dir, &["reconcile", "--as-of", "2026-09-01"]);
    assert_eq!(run.code, 1, "settled orders unknown to the ERP and an unexpected receipt: {}", run.stdout);
    assert_eq!(counts(dir)["receipt_result"], 2);
    assert!(run.stdout.contains("Payouts: 1 expected, 3 credits"), "{}", run.stdout);

    let report = tieout(dir, &["report", "receipts", "--format", "csv"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let mut lines = report.stdout.lines();
    assert!(lines.next().unwrap().starts_with(
        "settlement_id,store,currency,expected_amount,deposit_date,status,receipt_ref,received_amount,received_currency,received_date,rule_id"
    ));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "one expected payout and one unexpected receipt: {rows:?}");
    // The last column is the result's key (what its difference is resolved by).
    assert!(
        rows.iter().any(|r| r
            .strip_prefix(
                ",,USD,,,unexpected_receipt,PY-2,10.00,USD,2026-07-05,,,,,,,,payoneer.csv:3,receipt,,,receipt:"
            )
            .is_some_and(|id| id.parse::<i64>().is_ok())),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with("28471003921,acme-us,USD,582.89,2026-07-02,received,PY-1,582.89,USD,2026-07-03,exact-amount-with-reference,")),
        "{rows:?}"
    );

    let explain = tieout(dir, &["explain", "28471003921"]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(explain.stdout.contains("status: received"), "{}", explain.stdout);
    assert!(explain.stdout.contains("receipt payoneer.csv:2  ref PY-1  booked 2026-07-03"), "{}", explain.stdout);

    // Without the receipt the payout is missing (the as-of date is far past the deposit).
    let temp2 = tempfile::tempdir().unwrap();
    tieout(temp2.path(), &["import", v2.to_str().unwrap()]);
    tieout(temp2.path(), &["reconcile", "--as-of", "2026-09-01"]);
    let missing = tieout(temp2.path(), &["report", "receipts", "--format", "csv", "--status-only-for-test"]);
    assert_eq!(missing.code, 2, "unknown flags are refused");
    let missing = tieout(temp2.path(), &["report", "receipts", "--format", "csv"]);
    assert!(missing.stdout.contains(",missing,"), "{}", missing.stdout);
}

#[test]
fn rules_files_are_checked_with_line_numbers() {
    let temp = tempfile::tempdir().unwrap();
    let show = tieout(temp.path(), &["rules", "show"]);
    assert_eq!(show.code, 0);
    std::fs::write(temp.path().join("rules.toml"), &show.stdout).unwrap();
    let check = tieout(temp.path(), &["rules", "check", "rules.toml"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.contains("6 rule(s), valid"), "{}", check.stdout);
    std::fs::write(temp.path().join("bad.toml"), "[[rule]]\nid = \"x\"\nreference = \"regex:(\"\n").unwrap();
    let check = tieout(temp.path(), &["rules", "check", "bad.toml"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("bad.toml:2:6: error: invalid pattern"), "{}", check.stderr);
}

#[test]
fn a_converted_payout_is_checked_against_the_reference_rate() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let v2 = fixture(V2_SAMPLE);
    tieout(dir, &["import", "--store", "acme-us", v2.to_str().unwrap()]);
    std::fs::write(
        dir.join("lianlian.toml"),
        "[source]\nname = \"lianlian\"\nencoding = \"utf-8\"\ndelimiter = \",\"\nnumber_style = \"dot\"\naccount = \"lianlian-cny\"\n\
         [columns]\nbooking_date = \"Date\"\namount = \"Amount\"\ncurrency = \"Currency\"\nentry_ref = \"Transaction ID\"\n\
         description = \"Description\"\noriginal_amount = \"Original Amount\"\noriginal_currency = \"Original Currency\"\n",
    )
    .unwrap();
    // 582.89 USD arrives as 4152.16 CNY (implied 7.123402).
    std::fs::write(
        dir.join("lianlian.csv"),
        "Date,Transaction ID,Description,Amount,Currency,Original Amount,Original Currency\n\
         2026-07-03,LL-1,Amazon payout 28471003921,4152.16,CNY,582.89,USD\n",
    )
    .unwrap();
    let run = tieout(dir, &["import", "--profile", "lianlian.toml", "lianlian.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::write(dir.join("rates.csv"), "date,from,to,rate\n2026-07-02,USD,CNY,7.1000\n").unwrap();
    let run = tieout(dir, &["reconcile", "--as-of", "2026-09-01", "--rates", "rates.csv"]);
    assert!(run.stdout.contains("received_converted"), "{}", run.stdout);
    let report = tieout(dir, &["report", "receipts", "--format", "csv"]);
    let row = report.stdout.lines().nth(1).unwrap().to_owned();
    // 582.89 × 7.10 = 4138.52 CNY at the reference rate: +13.64 CNY of FX difference, and
    // the implied rate is 0.33 % above the reference, inside the 2 % band.
    assert!(
        row.starts_with("28471003921,acme-us,USD,582.89,2026-07-02,received_converted,LL-1,4152.16,CNY,2026-07-03,"),
        "{row}"
    );
    assert!(row.contains(",7.123402,7.100000,within_band,13.64,"), "{row}");
    // A rate far from the implied one: outside the band, and the run says so.
    std::fs::write(dir.join("rates.csv"), "date,from,to,rate\n2026-07-02,USD,CNY,6.5000\n").unwrap();
    let run = tieout(dir, &["reconcile", "--as-of", "2026-09-01", "--rates", "rates.csv"]);
    assert!(run.stdout.contains("conversions outside the reference-rate band: 1"), "{}", run.stdout);
    let bad = tieout(dir, &["reconcile", "--rates", "missing.csv"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn a_withdrawal_to_the_bank_is_matched_and_explain_follows_the_payout_there() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let v2 = fixture(V2_SAMPLE);
    assert_eq!(tieout(dir, &["import", "--store", "acme-us", v2.to_str().unwrap()]).code, 0);
    // The payout reaches Payoneer, is withdrawn two days later, and arrives in a USD bank
    // account (MT940) less 18.00 of charges; a second withdrawal never arrives.
    std::fs::write(
        dir.join("payoneer.csv"),
        "Date,Description,Amount,Currency,Transaction ID\n\
         2026-07-03,AMAZON.COM SERVICES 28471003921,582.89,USD,PY-1\n\
         2026-07-05,Withdrawal to bank account ****6838,-582.89,USD,PY-2\n\
         2026-07-10,Withdrawal to bank account ****6838,-100.00,USD,PY-3\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bank.sta"),
        ":20:STMT1\r\n:25:HK-123456\r\n:28C:1/1\r\n:60F:C260630USD1000,00\r\n\
         :61:2607060706C564,89NTRFNONREF//B-1\r\n:86:PAYONEER INC\r\n\
         :61:2607310731D50,00NCHGNONREF//B-2\r\n:86:ACCOUNT FEE\r\n\
         :62F:C260731USD1514,89\r\n-\r\n",
    )
    .unwrap();
    assert_eq!(tieout(dir, &["import", "--profile", "payoneer", "payoneer.csv"]).code, 0);
    let run = tieout(dir, &["import", "bank.sta"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tieout(dir, &["reconcile", "--as-of", "2026-09-01"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report = tieout(dir, &["report", "receipts", "--format", "csv"]);
    let (header, rows) = read_csv_text(&report.stdout);
    assert!(header.ends_with(&[
        "kind".to_owned(),
        "withdrawal_ref".to_owned(),
        "withdrawal_source".to_owned(),
        "key".to_owned()
    ]));
    let withdrawals: Vec<&HashMap<String, String>> = rows.iter().filter(|r| r["kind"] == "withdrawal").collect();
    assert_eq!(withdrawals.len(), 2, "{rows:?}");
    let short = withdrawals.iter().find(|r| r["withdrawal_ref"] == "PY-2").unwrap();
    assert_eq!(
        (short["status"].as_str(), short["expected_amount"].as_str(), short["received_amount"].as_str()),
        ("received_short", "582.89", "564.89")
    );
    assert_eq!((short["receipt_ref"].as_str(), short["difference"].as_str()), ("B-1", "-18.00"));
    assert_eq!(short["withdrawal_source"], "payoneer.csv:3");
    assert!(short["key"].starts_with("withdrawal:"), "what a receipt difference is resolved by: {short:?}");
    let missing = withdrawals.iter().find(|r| r["withdrawal_ref"] == "PY-3").unwrap();
    assert_eq!(missing["status"], "missing", "the bank's statement runs past its due date");
    // The bank credit is the withdrawal's, not an unexpected receipt.
    assert!(!rows.iter().any(|r| r["status"] == "unexpected_receipt"), "{rows:?}");

    let explain = tieout(dir, &["explain", "28471003921"]);
    assert_eq!(explain.code, 1, "the withdrawal arrived short: {}", explain.stdout);
    assert!(explain.stdout.contains("receipt payoneer.csv:2  ref PY-1"), "{}", explain.stdout);
    assert!(
        explain.stdout.contains("→ withdrawn from payoneer on 2026-07-05: 582.89 USD of withdrawal PY-2"),
        "{}",
        explain.stdout
    );
    assert!(
        explain.stdout.contains("→ bank bank.sta:5  ref B-1  booked 2026-07-06  received 564.89 USD"),
        "{}",
        explain.stdout
    );
}

fn read_csv_text(text: &str) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let path = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(path.path(), text).unwrap();
    read_csv(path.path())
}

#[test]
fn an_overlapping_export_of_a_payment_tool_adds_only_its_new_entries() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let header = "Date,Description,Amount,Currency,Transaction ID\n";
    let a = "2026-07-03,AMAZON.COM SERVICES 28471003921,582.89,USD,PY-1\n";
    let b = "2026-07-05,AMAZON PAYMENTS,10.00,USD,PY-2\n";
    let c = "2026-07-09,Client refund,99.00,USD,PY-3\n";
    std::fs::write(dir.join("july-1.csv"), format!("{header}{a}{b}")).unwrap();
    std::fs::write(dir.join("july-2.csv"), format!("{header}{b}{c}")).unwrap();
    assert_eq!(tieout(dir, &["import", "--profile", "payoneer", "july-1.csv"]).code, 0);
    let run = tieout(dir, &["import", "--profile", "payoneer", "july-2.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "1 entry of account payoneer (first: PY-2) already imported from july-1.csv (an overlapping export)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(counts(dir)["statement_entry"], 3, "PY-2 once");
    // The unexpected Amazon credit is reported once, not twice.
    tieout(dir, &["reconcile", "--as-of", "2026-09-01"]);
    let report = tieout(dir, &["report", "receipts", "--format", "csv"]);
    assert_eq!(report.stdout.matches("unexpected_receipt,PY-2,").count(), 1, "{}", report.stdout);
}

#[test]
fn check_verifies_the_databases_invariants_and_names_what_is_broken() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let run = tieout(dir, &["demo", "--orders", "1500", "--dir", ".", "-q"]);
    assert!(run.code <= 1, "{}", run.stderr);
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert!(check.stdout.contains("all invariants hold"), "{}", check.stdout);

    let db = dir.join("tieout.db");
    let alter = |sql: &str| rusqlite::Connection::open(&db).unwrap().execute_batch(sql).unwrap();
    // A settlement's recorded sum changed behind tieout's back: its lines no longer sum to it.
    let first_settlement = "(SELECT MIN(settlement_id) FROM settlement)";
    alter(&format!(
        "UPDATE settlement SET lines_sum_minor = lines_sum_minor + 1 WHERE settlement_id = {first_settlement}"
    ));
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(check.stderr.contains("lines summing to"), "{}", check.stderr);
    alter(&format!(
        "UPDATE settlement SET lines_sum_minor = lines_sum_minor - 1 WHERE settlement_id = {first_settlement}"
    ));
    assert_eq!(tieout(dir, &["check"]).code, 0);
    // A block of lines whose bytes no longer hold what its row records: cut short, and a
    // recorded sum that is not its lines'.
    let first_block = "(SELECT MIN(id) FROM line_block)";
    alter(&format!("CREATE TABLE saved AS SELECT * FROM line_block WHERE id = {first_block}"));
    alter(&format!("UPDATE line_block SET data = substr(data, 1, length(data) - 1) WHERE id = {first_block}"));
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(
        check.stderr.contains("cannot be read: database is corrupt: a block of settlement lines: cut short"),
        "{}",
        check.stderr
    );
    alter(&format!("UPDATE line_block SET data = (SELECT data FROM saved), amount_sum_minor = amount_sum_minor + 1 WHERE id = {first_block}"));
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(check.stderr.contains("lines sum to") && check.stderr.contains("its row records"), "{}", check.stderr);
    alter(&format!(
        "UPDATE line_block SET amount_sum_minor = amount_sum_minor - 1 WHERE id = {first_block}; DROP TABLE saved"
    ));
    assert_eq!(tieout(dir, &["check"]).code, 0);
    // A source line stored twice.
    alter(
        "INSERT INTO statement_entry (statement_id, file_id, line, booking_day, value_day, amount_minor, currency, entry_ref,
            reference, counterparty, description, original_amount_minor, original_currency, fee_minor, reversal)
         SELECT statement_id, file_id, line, booking_day, value_day, amount_minor, currency, entry_ref, reference,
            counterparty, description, original_amount_minor, original_currency, fee_minor, reversal
         FROM statement_entry WHERE id = (SELECT MIN(id) FROM statement_entry)",
    );
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("is stored 2 times (statement_entry)"), "{}", check.stderr);
    alter("DELETE FROM statement_entry WHERE id = (SELECT MAX(id) FROM statement_entry)");
    // An order's row changed after the run: its stored result no longer equals a
    // recomputation.
    alter("UPDATE order_item SET amount_minor = amount_minor + 1 WHERE id = (SELECT MIN(id) FROM order_item)");
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("1 stored order result(s) differ from a recomputation"), "{}", check.stderr);
    alter("UPDATE order_item SET amount_minor = amount_minor - 1 WHERE id = (SELECT MIN(id) FROM order_item)");
    assert_eq!(tieout(dir, &["check"]).code, 0);
    // A block of results cut short.
    let first_results = "(SELECT MIN(id) FROM result_block)";
    alter(&format!("CREATE TABLE saved AS SELECT * FROM result_block WHERE id = {first_results}"));
    alter(&format!("UPDATE result_block SET data = substr(data, 1, length(data) - 1) WHERE id = {first_results}"));
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(check.stderr.contains("a block of order results: cut short"), "{}", check.stderr);
    alter(&format!(
        "UPDATE result_block SET data = (SELECT data FROM saved) WHERE id = {first_results}; DROP TABLE saved"
    ));
    assert_eq!(tieout(dir, &["check"]).code, 0);
    // Results lost: fewer stored than the run recorded.
    alter("UPDATE reconcile_run SET order_count = order_count + 1 WHERE id = (SELECT MAX(id) FROM reconcile_run)");
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("order results stored"), "{}", check.stderr);
    // Reconciling again repairs the results; a file imported afterwards makes them stale.
    assert!(tieout(dir, &["reconcile", "--as-of", "2026-12-05"]).code <= 1);
    assert_eq!(tieout(dir, &["check"]).code, 0);
    let v2 = fixture(V2_SAMPLE);
    assert_eq!(tieout(dir, &["import", "--store", "acme-us", v2.to_str().unwrap()]).code, 0);
    let check = tieout(dir, &["check"]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert!(check.stderr.contains("out of date: run `tieout reconcile`"), "{}", check.stderr);
}

#[test]
fn the_receivables_roll_forward_ties_to_the_generators_and_aging_counts_to_a_given_date() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let run = tieout(dir, &["demo", "--dir", ".", "--orders", "2000", "--seed", "11", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The CSV contract, every store and month, equal to the generator's truth to the cent.
    let report = tieout(dir, &["report", "receivables", "--format", "csv"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let (header, rows) = read_csv_text(&report.stdout);
    assert_eq!(
        header[..10],
        ["store", "currency", "month", "opening", "sales", "refunds", "fees", "other", "transfers", "closing"]
    );
    let truth = std::fs::read_to_string(dir.join("receivables-truth.csv")).unwrap();
    let got: Vec<String> =
        rows.iter().map(|r| header[..10].iter().map(|c| r[c].as_str()).collect::<Vec<_>>().join(",")).collect();
    let mut want: Vec<String> = truth.lines().skip(1).map(str::to_owned).collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want);
    // It rolls: each month's closing is the next month's opening, per store.
    for pair in rows.windows(2).filter(|p| p[0]["store"] == p[1]["store"]) {
        assert_eq!(pair[0]["closing"], pair[1]["opening"], "{} {}", pair[0]["store"], pair[1]["month"]);
    }
    // One month and one store; the opening is carried from the months before.
    let october =
        tieout(dir, &["report", "receivables", "--month", "2026-10", "--store", "acme-de", "--format", "csv"]);
    let (_, october_rows) = read_csv_text(&october.stdout);
    assert_eq!(october_rows.len(), 1);
    let full = rows.iter().find(|r| r["store"] == "acme-de" && r["month"] == "2026-10").unwrap();
    assert_eq!(&october_rows[0], full);
    // The workbook: a sheet per report and one listing the source files.
    let xlsx = tieout(dir, &["report", "receivables", "--format", "xlsx", "-o", "receivables.xlsx"]);
    assert_eq!(xlsx.code, 0, "{}", xlsx.stderr);
    assert!(std::fs::read(dir.join("receivables.xlsx")).unwrap().starts_with(b"PK"));

    // Aging: the missing payout is posted and not transferred; the age moves with --as-of.
    let receipts_truth = std::fs::read_to_string(dir.join("receipts-truth.csv")).unwrap();
    let missing = receipts_truth
        .lines()
        .find(|l| l.starts_with("payout,") && l.contains(",missing,"))
        .map(|l| l.split(',').nth(1).unwrap().to_owned())
        .unwrap();
    let aging = |as_of: &str| {
        let run = tieout(dir, &["report", "aging", "--as-of", as_of, "--format", "csv", "-o", "aging.csv"]);
        assert!(run.code <= 1, "{}", run.stderr);
        let (_, rows) = read_csv(&dir.join("aging.not_transferred.csv"));
        rows.into_iter().find(|r| r["settlement_id"] == missing).unwrap()
    };
    let early = aging("2026-11-20");
    let late = aging("2027-03-01");
    let early_days: i64 = early["age_days"].parse().unwrap();
    let late_days: i64 = late["age_days"].parse().unwrap();
    assert_eq!(late_days - early_days, 101, "20 Nov 2026 to 1 Mar 2027");
    assert_eq!((early["reason"].as_str(), late["age_bucket"].as_str()), ("payout_missing", "over_90"));
    assert_eq!(late["alert"], "ALERT");
    let (summary_header, summary) = read_csv(&dir.join("aging.csv"));
    assert!(summary_header.contains(&"count_over_90".to_owned()));
    assert!(summary.iter().any(|r| r["what"] == "shipped_not_settled"));
    let terminal = tieout(dir, &["report", "aging", "--as-of", "2027-03-01"]);
    assert_eq!(terminal.code, 1, "alerts: {}", terminal.stderr);
    assert!(terminal.stderr.contains("ALERT acme-"), "{}", terminal.stderr);
}

#[test]
fn overlapping_transaction_reports_add_each_row_once_and_deferred_rows_are_kept_apart() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let text = String::from_utf8(fixture_bytes("amazon-transactions-us.csv")).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let header_at = lines.iter().position(|l| l.starts_with("\"date/time\"")).unwrap();
    let (head, rows) = lines.split_at(header_at + 1);
    // Two reports whose date ranges overlap by two rows, and the whole report.
    let first: String = head.iter().chain(&rows[..rows.len() / 2 + 1]).copied().collect();
    let second: String = head.iter().chain(&rows[rows.len() / 2 - 1..]).copied().collect();
    std::fs::write(dir.join("first.csv"), first).unwrap();
    std::fs::write(dir.join("second.csv"), second).unwrap();
    std::fs::write(dir.join("whole.csv"), &text).unwrap();
    let imported = |db: &str, files: &[&str]| {
        for file in files {
            let run = tieout(dir, &["--db", db, "import", "--store", "acme-us", file]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            let said = format!("{}{}", run.stdout, run.stderr);
            assert!(said.contains("Amazon Date Range transaction report"), "{said}");
        }
        let check = tieout(dir, &["--db", db, "check"]);
        assert_eq!(check.code, 0, "{}", check.stderr);
        let status = tieout(dir, &["--db", db, "status"]);
        let count = |table: &str| -> i64 {
            status
                .stdout
                .lines()
                .find(|l| l.trim_start().starts_with(table))
                .unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        };
        let settlements = tieout(dir, &["--db", db, "report", "settlements", "--format", "csv"]);
        let (_, rows) = read_csv_text(&settlements.stdout);
        let summary: Vec<(String, String, String, String)> = rows
            .iter()
            .map(|r| (r["settlement_id"].clone(), r["total"].clone(), r["lines_sum"].clone(), r["deposit"].clone()))
            .collect();
        (count("settlement_line"), count("deferred_line"), summary)
    };
    let whole = imported("whole.db", &["whole.csv"]);
    let parts = imported("parts.db", &["first.csv", "second.csv"]);
    assert_eq!(parts, whole, "the two overlapping reports add up to the whole, each row once");
    assert!(whole.0 > 0 && whole.1 > 0, "released lines and deferred lines: {whole:?}");
    // The payout row is the settlement's total and deposit, not one of its lines.
    assert_eq!(whole.2.len(), 1);
    assert!(!whole.2[0].3.is_empty(), "a transfer row gives the deposit date: {:?}", whole.2);
    assert_eq!(whole.2[0].1, whole.2[0].2, "the lines sum to the payout");
    // Deferred lines are reported beside the roll-forward, not in it.
    assert!(tieout(dir, &["--db", "whole.db", "reconcile", "--as-of", "2026-11-30"]).code <= 1);
    let receivables = tieout(dir, &["--db", "whole.db", "report", "receivables", "--format", "csv", "-o", "ar.csv"]);
    assert_eq!(receivables.code, 0, "{}", receivables.stderr);
    let (_, deferred) = read_csv(&dir.join("ar.deferred.csv"));
    assert_eq!(deferred.len(), 1);
    assert_eq!(deferred[0]["lines"], whole.1.to_string());
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let temp = tempfile::tempdir().unwrap();
    let run = tieout(temp.path(), &["demo", "--dir", ".", "--orders", "1000", "-q"]);
    assert!(run.code <= 1, "{}", run.stderr);
    // Like `tieout report orders | head -1`: the reader closes the pipe after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tieout"))
        .args(["report", "orders"])
        .current_dir(temp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn a_transaction_report_in_a_language_tieout_does_not_read_is_named_and_refused() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let us = String::from_utf8(fixture_bytes("amazon-transactions-us.csv")).unwrap();
    // Dutch (a language Amazon writes, tieout does not read yet), and one it cannot name.
    std::fs::write(dir.join("nl.csv"), us.replace("\"date/time\"", "\"datum/tijd\"")).unwrap();
    std::fs::write(dir.join("pl.csv"), us.replace("\"date/time\"", "\"data/godzina\"")).unwrap();
    let dutch = tieout(dir, &["import", "--store", "acme-nl", "nl.csv"]);
    assert_eq!(dutch.code, 2);
    assert!(
        dutch.stderr.contains("nl.csv:8:1: error: this is a transaction report in Dutch, which tieout does not read yet (it reads English, German, French, Italian, Spanish and Japanese ones)"),
        "{}",
        dutch.stderr
    );
    let polish = tieout(dir, &["import", "--store", "acme-pl", "pl.csv"]);
    assert_eq!(polish.code, 2);
    assert!(
        polish.stderr.contains("no transaction report header in a language tieout reads (English, German, French, Italian, Spanish, Japanese)"),
        "{}",
        polish.stderr
    );
    assert_eq!(counts(dir).get("settlement_line").copied().unwrap_or(0), 0, "nothing stored");
}

/// Imports the demo's files of every store into `db`: `sources` says which settlement
/// source(s), in order: "v2" (the settlement files) or "report" (the transaction report).
fn import_demo_month(dir: &Path, db: &str, sources: &[&str]) {
    for store in ["acme-us", "acme-de", "acme-uk"] {
        for source in sources {
            let files: Vec<String> = match *source {
                "v2" => std::fs::read_dir(dir.join(store).join("settlements"))
                    .unwrap()
                    .map(|e| e.unwrap().path().to_string_lossy().into_owned())
                    .collect(),
                _ => vec![dir
                    .join(store)
                    .join("transactions")
                    .join(format!("{store}-transactions.csv"))
                    .to_string_lossy()
                    .into_owned()],
            };
            let mut args = vec!["--db", db, "import", "--store", store];
            args.extend(files.iter().map(String::as_str));
            let run = tieout(dir, &args);
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
        let mapping = format!("{store}/orders-mapping.toml");
        let orders = format!("{store}/orders.csv");
        assert_eq!(tieout(dir, &["--db", db, "import", "--store", store, "--mapping", &mapping, &orders]).code, 0);
    }
    assert!(tieout(dir, &["--db", db, "reconcile", "--as-of", "2026-12-05"]).code <= 1);
    let check = tieout(dir, &["--db", db, "check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn the_transaction_reports_alone_or_with_the_settlement_files_give_the_same_month() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let run = tieout(dir, &["demo", "--dir", ".", "--orders", "2000", "--seed", "5", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let csv = |db: &str, report: &str| tieout(dir, &["--db", db, "report", report, "--format", "csv"]).stdout;
    let status = |db: &str| {
        let out = tieout(dir, &["--db", db, "status"]).stdout;
        out.lines().filter(|l| l.trim_start().starts_with("settlement")).map(str::to_owned).collect::<Vec<_>>()
    };
    import_demo_month(dir, "v2.db", &["v2"]);
    // Both sources, in either order: each line counted once, the settlement file prevails.
    import_demo_month(dir, "both.db", &["v2", "report"]);
    import_demo_month(dir, "report-first.db", &["report", "v2"]);
    for db in ["both.db", "report-first.db"] {
        assert_eq!(status(db), status("v2.db"), "{db}: the same settlements and lines");
        for report in ["orders", "receivables", "settlements", "receipts"] {
            assert_eq!(csv(db, report), csv("v2.db", report), "{db}: report {report}");
        }
    }
    // The reports alone: the roll-forward equals the generator's to the cent, and every
    // order's category equals the truth, except the duplicated lines, which a report
    // cannot tell from two items (no order-item codes): still a difference (fee_anomaly).
    import_demo_month(dir, "report.db", &["report"]);
    let (_, rows) = read_csv_text(&csv("report.db", "receivables"));
    let got: BTreeSet<String> = rows
        .iter()
        .map(|r| {
            ["store", "currency", "month", "opening", "sales", "refunds", "fees", "other", "transfers", "closing"]
                .map(|c| r[c].as_str())
                .join(",")
        })
        .collect();
    let truth = std::fs::read_to_string(dir.join("receivables-truth.csv")).unwrap();
    let want: BTreeSet<String> = truth.lines().skip(1).map(str::to_owned).collect();
    assert_eq!(got, want);
    let (_, orders) = read_csv_text(&csv("report.db", "orders"));
    let truth = std::fs::read_to_string(dir.join("truth.csv")).unwrap();
    let truth: HashMap<&str, &str> = truth
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0], f[2])
        })
        .collect();
    assert_eq!(orders.len(), truth.len());
    for order in &orders {
        let expected = truth[order["order_id"].as_str()];
        if expected == "duplicate_settlement_line" {
            assert_ne!(order["category"], "matched", "{}", order["order_id"]);
        } else {
            assert_eq!(order["category"], expected, "{}", order["order_id"]);
        }
    }
}

#[test]
fn statement_import_documents_reads_an_erp_export_through_a_documents_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("docs.toml"),
        "[source]\nkind = \"documents\"\ndelimiter = \";\"\nnumber_style = \"comma\"\ndate_format = \"%d/%m/%Y\"\ncurrency = \"EUR\"\n\
         [columns]\ncounterparty = \"Kunde\"\ntype = \"Art\"\nnumber = \"Beleg\"\ndate = \"Datum\"\namount = \"Betrag\"\n\
         [types]\n\"Rechnung\" = \"invoice\"\n\"Zahlung\" = \"receipt\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("belege.csv"),
        "Kunde;Art;Beleg;Datum;Betrag\nK-1;Rechnung;RE-1;03/10/2026;1.234,50\nK-1;Zahlung;ZA-1;20/10/2026;1.000,00\n",
    )
    .unwrap();
    let team = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_tieout"))
            .args(args)
            .current_dir(dir)
            .env_remove("TIEOUT_DATABASE_URL")
            .env_remove("TIEOUT_CONFIG")
            .env("TIEOUT_PASSWORD", "a long enough password")
            .output()
            .expect("the binary runs");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
    };
    assert_eq!(team(&["tenant", "add", "acme", "Acme Trading"]).0, 0);
    let (code, _, err) = team(&["user", "add", "--tenant", "acme", "--email", "clerk@acme.test", "--role", "clerk"]);
    assert_eq!(code, 0, "{err}");
    let import = ["statement", "--tenant", "acme", "--user", "clerk@acme.test", "import-documents", "--mapping"];
    let (code, out, err) = team(&[&import[..], &["docs.toml", "belege.csv"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 document(s) of 1 counterparty"), "{out}");
    let (code, out, _) = team(&[&import[..], &["docs.toml", "belege.csv"]].concat());
    assert_eq!(code, 0);
    assert!(out.contains("already imported"), "{out}");
    // An order export's mapping is not a documents mapping: named at its key.
    std::fs::write(dir.join("orders.toml"), "[columns]\norder_id = \"a\"\n").unwrap();
    let (code, _, err) = team(&[&import[..], &["orders.toml", "belege.csv"]].concat());
    assert_eq!(code, 2);
    assert!(err.contains("orders.toml:1:1: error: `source.kind`: this is an order export's mapping"), "{err}");

    // `tieout import` takes the same mapping.
    let run = tieout(dir, &["import", "--mapping", "docs.toml", "belege.csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("2 document(s) of 1 counterparty"), "{}", run.stderr);
}
