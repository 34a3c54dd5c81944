"""Prints the benchmark table of one size from the measurements bench/run.sh recorded.

    python3 bench/reference/table.py MEASUREMENTS.tsv [RECEIPTS.tsv]

Each line of MEASUREMENTS.tsv: `tool wall user sys peak_rss_kib exit_code agrees note…`
(tab-separated; `agrees` is yes, no or -; a skipped tool has wall `-` and its reason as
note). Prints a Markdown table: wall, CPU (user + sys), peak RSS and agreement with
truth.csv per tool, then the ratios tieout / DuckDB and tieout / pandas, then (from
RECEIPTS.tsv: `tool agrees rows`) whether each reference's payout <-> receipt statuses
agree with receipts-truth.csv.
"""

import sys

LABELS = {
    "floor": "floor (read and split every file)",
    "parse": "tieout parse (readers, no store)",
    "e2e": "**tieout end to end** (import into a fresh store + reconcile)",
    "reconcile": "tieout reconcile alone (already-imported store)",
    "duckdb": "DuckDB reference",
    "pandas": "pandas reference",
}


def mib(kib):
    return f"{int(kib) / 1024:,.0f} MiB" if int(kib) < 1024 * 1024 else f"{int(kib) / 1048576:.2f} GiB"


def main(path, receipts_path=None):
    rows = {}
    order = []
    for line in open(path):
        fields = line.rstrip("\n").split("\t")
        tool = fields[0]
        rows[tool] = fields
        order.append(tool)
    print("| tool | wall | CPU (user+sys) | peak RSS | agrees with truth.csv |")
    print("|---|---:|---:|---:|---|")
    for tool in order:
        f = rows[tool]
        label = LABELS.get(tool, tool)
        if f[1] == "-":
            print(f"| {label} | skipped | | | {' '.join(f[7:])} |")
            continue
        wall, user, system, rss, code, agrees = f[1], float(f[2]), float(f[3]), f[4], f[5], f[6]
        status = {"yes": "yes, 0 disagreements", "no": "**NO**", "-": "(not a classification)"}.get(agrees, agrees)
        if code != "0":
            status += f" (exit {code})"
        print(f"| {label} | {float(wall):.2f} s | {user + system:.2f} s | {mib(rss)} | {status} |")
    print()

    def measured(tool):
        f = rows.get(tool)
        if not f or f[1] == "-":
            return None
        return float(f[1]), float(f[2]) + float(f[3]), int(f[4])

    pairs = [("e2e", "duckdb"), ("e2e", "pandas"), ("reconcile", "floor")]
    print("| ratio | wall | CPU | peak RSS |")
    print("|---|---:|---:|---:|")
    for a, b in pairs:
        x, y = measured(a), measured(b)
        if not x or not y:
            if x and b in rows:
                print(f"| tieout {a} / {b} | ({b} skipped) | | |")
            continue

        def ratio(i):
            if not y[i]:
                return "–"
            r = x[i] / y[i]
            note = ["faster", "less CPU"][i]
            return f"{r:.2f}" + (f" ({1 / r:.1f}× {note})" if 0 < r < 1 else "")

        print(f"| tieout {a} / {b} | {ratio(0)} | {ratio(1)} | {x[2] / y[2]:.2f} |")
    if receipts_path:
        print()
        for line in open(receipts_path):
            tool, agrees, rows = line.rstrip("\n").split("\t")
            verdict = "agree with" if agrees == "yes" else "**DISAGREE** with"
            print(
                f"{LABELS.get(tool, tool)}, payout ↔ receipt matching (untimed): statuses and matched credits"
                f" (file, line) {verdict} receipts-truth.csv ({int(rows) - 1} payouts, withdrawals and"
                " unexpected receipts)."
            )


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(*sys.argv[1:])
