"""Checks a result against the generator's ground truth.

    python3 bench/reference/check.py DIR ORDERS.csv               per-order categories vs DIR/truth.csv
    python3 bench/reference/check.py --receipts DIR RECEIPTS.csv  payouts, withdrawals, receipts vs DIR/receipts-truth.csv

ORDERS.csv needs `order_id` and `category` columns (tieout's `tieout-bench results` and
both references write them); RECEIPTS.csv is what the references write (kind, id, status,
rule, receipt_file, receipt_line). Prints the counts and every disagreement (the first
20); exits 1 if there is any.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import receipts  # noqa: E402
from common import check_against_truth  # noqa: E402

if __name__ == "__main__":
    arguments = sys.argv[1:]
    check = check_against_truth
    if arguments[:1] == ["--receipts"]:
        arguments, check = arguments[1:], receipts.check_against_truth
    if len(arguments) != 2:
        sys.exit(__doc__)
    sys.exit(1 if check(*arguments) else 0)
