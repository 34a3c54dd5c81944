"""Checks a per-order result against the generator's ground truth.

    python3 bench/reference/check.py DIR RESULT.csv

RESULT.csv needs `order_id` and `category` columns (tieout's `tieout-bench results`, and
both references write them). Prints per-category counts of the result and of DIR/truth.csv
and every disagreement (the first 20); exits 1 if there is any.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check_against_truth  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(1 if check_against_truth(sys.argv[1], sys.argv[2]) else 0)
