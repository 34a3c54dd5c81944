"""What the DuckDB and pandas references share: finding a generated month's files,
reading its configuration (fee schedules, ERP column mappings), order statuses, and
checking a per-order result against the generator's ground truth.

A month directory, as `tieout-bench gen DIR N` (or `tieout demo`) writes it:

    DIR/tieout.toml                       [reconcile] amount_tolerance_minor, [[fees]] schedules
    DIR/truth.csv                         order_id,store,category
    DIR/<store>/orders.csv                the ERP export, one row per order item
    DIR/<store>/orders-mapping.toml       its columns, delimiter, header row, number style, date format, statuses
    DIR/<store>/settlements/<id>.txt      Amazon settlement flat files (V2, tab-separated)
    DIR/bench-manifest.txt                (tieout-bench only) the as-of date

The classification rules are tieout's (crates/core/src/reconcile.rs); each reference
restates them in its own language.
"""

import csv
import datetime
import glob
import os
import sys
import time
import tomllib

# The nine categories, in precedence order (first wins).
CATEGORIES = [
    "settled_not_in_orders",
    "cancelled_but_settled",
    "duplicate_settlement_line",
    "shipped_not_settled",
    "refunded_not_written_off",
    "amount_mismatch",
    "fee_anomaly",
    "not_due",
    "matched",
]

# Settlement flat file V2 columns a reconciliation needs (of 24).
SETTLEMENT_COLUMNS = [
    "settlement-id",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "order-item-code",
    "sku",
    "quantity-purchased",
    "promotion-id",
]

# A line's fingerprint for duplicate detection: the same charge for the same order item.
FINGERPRINT_COLUMNS = [
    "transaction-type",
    "order-id",
    "adjustment-id",
    "shipment-id",
    "order-item-code",
    "sku",
    "amount-type",
    "amount-description",
    "promotion-id",
    "amount_minor",
]

# ERP statuses after normalisation (lower case, no '_', ' ', '-'), as tieout reads them.
STATUS_WORDS = {
    "pending": "Pending",
    "pendingavailability": "Pending",
    "invoiceunconfirmed": "Pending",
    "unshipped": "Unshipped",
    "unfulfilled": "Unshipped",
    "partiallyshipped": "PartiallyShipped",
    "shipped": "Shipped",
    "shipping": "Shipped",
    "delivered": "Shipped",
    "fulfilled": "Shipped",
    "complete": "Shipped",
    "completed": "Shipped",
    "cancelled": "Cancelled",
    "canceled": "Cancelled",
    "refunded": "Refunded",
    "returned": "Refunded",
}


class Store:
    def __init__(self, name, orders_file, mapping, settlement_files):
        self.name = name
        self.orders_file = orders_file
        self.mapping = mapping
        self.settlement_files = settlement_files

    def column(self, field):
        """The ERP export's header for a tieout field (`item_price`), or None."""
        return self.mapping.get("columns", {}).get(field)

    @property
    def delimiter(self):
        return self.mapping.get("source", {}).get("delimiter", ",")

    @property
    def header_row(self):
        return int(self.mapping.get("source", {}).get("header_row", 1))

    @property
    def number_style(self):
        return self.mapping.get("source", {}).get("number_style", "dot")

    @property
    def date_format(self):
        return self.mapping.get("source", {}).get("date_format", "%Y-%m-%d")

    def status(self, text):
        """An ERP status as tieout's OrderStatus name (the mapping's aliases first)."""
        text = (text or "").strip()
        text = self.mapping.get("status", {}).get(text, text)
        word = text.lower().replace("_", "").replace(" ", "").replace("-", "")
        if word not in STATUS_WORDS:
            raise SystemExit(f"{self.orders_file}: unknown status '{text}'")
        return STATUS_WORDS[word]


class Month:
    def __init__(self, directory, as_of=None):
        self.directory = directory
        with open(os.path.join(directory, "tieout.toml"), "rb") as f:
            config = tomllib.load(f)
        self.amount_tolerance_minor = int(config.get("reconcile", {}).get("amount_tolerance_minor", 0))
        self.fees = config.get("fees", [])
        self.stores = []
        for orders_file in sorted(glob.glob(os.path.join(directory, "*", "orders.csv"))):
            store_dir = os.path.dirname(orders_file)
            with open(os.path.join(store_dir, "orders-mapping.toml"), "rb") as f:
                mapping = tomllib.load(f)
            settlements = sorted(glob.glob(os.path.join(store_dir, "settlements", "*.txt")))
            self.stores.append(Store(os.path.basename(store_dir), orders_file, mapping, settlements))
        if not self.stores:
            raise SystemExit(f"{directory}: no <store>/orders.csv (generate a month first)")
        self.as_of = as_of or self._manifest_as_of()

    def as_of_date(self):
        if not self.as_of:
            raise SystemExit("an as-of date is needed for payouts and receipts: pass --as-of YYYY-MM-DD")
        return datetime.date.fromisoformat(self.as_of)

    def _manifest_as_of(self):
        try:
            with open(os.path.join(self.directory, "bench-manifest.txt")) as f:
                for line in f:
                    if line.startswith("as_of "):
                        return line.split()[1]
        except FileNotFoundError:
            pass
        return None

    def fee_rules(self):
        """(store or None, marketplace lower-cased or None, rate bp, fba per unit or None, tolerance)."""
        rules = []
        for fee in self.fees:
            marketplace = fee.get("marketplace")
            rules.append(
                (
                    fee.get("store"),
                    marketplace.strip().lower() if marketplace else None,
                    int(fee["referral_rate_basis_points"]),
                    int(fee["fba_fee_per_unit_minor"]) if "fba_fee_per_unit_minor" in fee else None,
                    int(fee.get("tolerance_minor", 0)),
                )
            )
        return rules

    def schedule_for(self, store, marketplace):
        """The most specific schedule: store and marketplace > marketplace > store > any."""
        marketplace = (marketplace or "").strip().lower()
        best = None
        for rule in self.fee_rules():
            if rule[0] is not None and rule[0] != store:
                continue
            if rule[1] is not None and rule[1] != marketplace:
                continue
            rank = (rule[0] is not None and rule[1] is not None, rule[1] is not None, rule[0] is not None)
            if best is None or rank > best[0]:
                best = (rank, rule)
        return None if best is None else best[1][2:]


def parse_args(argv, tool):
    import argparse

    parser = argparse.ArgumentParser(description=f"{tool} reference: per-order classification of a generated month")
    parser.add_argument("directory", help="a month generated by `tieout-bench gen DIR N` or `tieout demo`")
    parser.add_argument("--out", help="per-order result CSV (default DIR/results/<tool>-orders.csv)")
    parser.add_argument("--as-of", help="date days since ship are counted to (default: from bench-manifest.txt)")
    parser.add_argument(
        "--receipts",
        choices=["with", "without", "only"],
        default="with",
        help="payout <-> receipt matching of the statements in DIR/bank as well (default), not, or only that",
    )
    parser.add_argument("--receipts-out", help="receipts result CSV (default DIR/results/<tool>-receipts.csv)")
    parser.add_argument("--check", action="store_true", help="check the results against the truth files afterwards")
    args = parser.parse_args(argv)
    results = os.path.join(args.directory, "results")
    if not args.out or not args.receipts_out:
        os.makedirs(results, exist_ok=True)
    args.out = args.out or os.path.join(results, f"{tool}-orders.csv")
    args.receipts_out = args.receipts_out or os.path.join(results, f"{tool}-receipts.csv")
    return args


def print_counts(tool, counts, seconds):
    """counts: {category: n}. One line a tool's log can be grepped for, then the table."""
    total = sum(counts.values())
    print(f"{tool}: {total} orders classified in {seconds:.2f} s")
    for category in CATEGORIES:
        print(f"  {category:<27} {counts.get(category, 0):>10}")


def check_against_truth(directory, result_file):
    """Compares a per-order result (CSV with order_id and category columns) with truth.csv.
    Prints per-category counts of both sides and the disagreements; returns their number."""
    truth = {}
    truth_counts = {}
    with open(os.path.join(directory, "truth.csv"), newline="") as f:
        for row in csv.DictReader(f):
            truth[row["order_id"]] = row["category"]
            truth_counts[row["category"]] = truth_counts.get(row["category"], 0) + 1
    got_counts = {}
    disagreements = []
    seen = 0
    with open(result_file, newline="") as f:
        for row in csv.DictReader(f):
            seen += 1
            category = row["category"]
            got_counts[category] = got_counts.get(category, 0) + 1
            expected = truth.pop(row["order_id"], None)
            if expected != category:
                disagreements.append(f"{row['order_id']}: result {category}, truth {expected or '(no such order)'}")
    for order_id, category in truth.items():
        disagreements.append(f"{order_id}: result (missing), truth {category}")
    print(f"check {result_file} against truth.csv: {seen} orders")
    print(f"  {'category':<27} {'result':>10} {'truth':>10}")
    for category in CATEGORIES:
        print(f"  {category:<27} {got_counts.get(category, 0):>10} {truth_counts.get(category, 0):>10}")
    for line in disagreements[:20]:
        print(f"  DISAGREES {line}")
    print(f"disagreements={len(disagreements)}")
    return len(disagreements)


def finish(args, tool, started):
    if args.check:
        import receipts

        sys.stdout.flush()
        check_started = time.perf_counter()
        disagreements = 0
        if args.receipts != "only":
            disagreements += check_against_truth(args.directory, args.out)
        if args.receipts != "without":
            disagreements += receipts.check_against_truth(args.directory, args.receipts_out)
        print(f"(check took {time.perf_counter() - check_started:.2f} s; not part of {tool}'s time)")
        if disagreements:
            sys.exit(1)
