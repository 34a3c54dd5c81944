"""pandas reference: classifies every order of a generated month with pandas, as an
analyst would, and writes one row per order.

    python3 bench/reference/pandas_reference.py DIR [--out FILE] [--as-of DATE] [--receipts with|without|only] [--check]

The same files and the same rules as the DuckDB reference (see its docstring and
crates/core/src/reconcile.rs). Each file is read with `pandas.read_csv`, only the columns
needed, every field as text; amounts become integer minor units by rounding
`value × 100` (exact for the two-decimal amounts of these files).
"""

import time

STARTED = time.perf_counter()

import csv  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import receipts  # noqa: E402
from common import (  # noqa: E402
    CATEGORIES,
    FINGERPRINT_COLUMNS,
    SETTLEMENT_COLUMNS,
    Month,
    finish,
    parse_args,
    print_counts,
)

AMOUNT_COMPONENTS = ["principal", "shipping", "gift_wrap", "promotion"]


def to_minor(text, number_style):
    """Text amounts → int64 minor units. `per-value`: `5,05` and `5.05` alike (Amazon EU)."""
    text = text.fillna("")
    if number_style == "comma":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    elif number_style == "dot":
        text = text.str.replace(",", "", regex=False)
    else:
        text = text.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text.replace("", np.nan))
    return (values * 100).round().astype("Int64")


def component_of(amount_type, description):
    """tieout's classify_component, for the components reconciliation uses."""
    conditions = [
        description.isin(["current reserve amount", "previous reserve amount balance"]),
        amount_type.isin(["promotion", "itempromotion"]),
        description.str.startswith("marketplacefacilitator"),
        (amount_type == "itemprice") & (description == "principal"),
        (amount_type == "itemprice") & (description == "shipping"),
        (amount_type == "itemprice") & (description == "giftwrap"),
        (amount_type == "itemprice") & description.isin(["tax", "shippingtax", "giftwraptax"]),
        description == "commission",
        description == "fbaperunitfulfillmentfee",
        description == "refundcommission",
        amount_type.isin(["itemfees", "itemrelatedfees", "shipment-fees", "order-fees"]),
    ]
    names = [
        "reserve", "promotion", "facilitator_tax", "principal", "shipping", "gift_wrap", "tax",
        "commission", "fba_fee", "refund_commission", "other_fee",
    ]  # fmt: skip
    return np.select(conditions, names, default="other")


def load_lines(month):
    frames = []
    for store in month.stores:
        for path in store.settlement_files:
            frame = pd.read_csv(
                path, sep="\t", dtype=str, usecols=SETTLEMENT_COLUMNS, keep_default_na=False, quoting=csv.QUOTE_NONE
            )
            frame["store"] = store.name
            frames.append(frame)
    raw = pd.concat(frames, ignore_index=True)
    del frames
    # The summary row of each settlement carries its total and currency.
    summary = raw["total-amount"] != ""
    currency_of = raw.loc[summary].groupby("settlement-id")["currency"].first()
    lines = raw.loc[~summary & (raw["order-id"] != "")].copy()
    del raw
    lines["currency"] = lines["currency"].where(lines["currency"] != "", lines["settlement-id"].map(currency_of))
    lines["order_id"] = lines["order-id"].str.strip()
    lines["transaction"] = lines["transaction-type"].str.strip().str.lower()
    lines["marketplace"] = lines["marketplace-name"].str.strip().str.lower()
    lines["amount_minor"] = to_minor(lines["amount"], "per-value")
    lines["component"] = component_of(
        lines["amount-type"].str.strip().str.lower(), lines["amount-description"].str.strip().str.lower()
    )
    lines["item"] = lines["order-item-code"].where(lines["order-item-code"] != "", lines["sku"])
    lines["quantity"] = pd.to_numeric(lines["quantity-purchased"].replace("", "0")).astype("int64")
    return lines


def load_orders(month):
    frames = []
    for store in month.stores:
        c = store.column
        erp = pd.read_csv(
            store.orders_file,
            sep=store.delimiter,
            skiprows=store.header_row - 1,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
        )
        style = store.number_style
        amount = to_minor(erp[c("item_price")], style)
        for field in ("shipping_price", "gift_wrap_price"):
            if c(field):
                amount = amount + to_minor(erp[c(field)], style).fillna(0)
        if c("discount"):  # written positive or negative, a discount reduces the amount
            amount = amount - to_minor(erp[c("discount")], style).fillna(0).abs()
        statuses = {text: store.status(text) for text in erp[c("status")].unique()}
        frame = pd.DataFrame(
            {
                "order_id": erp[c("order_id")].str.strip(),
                "store": erp[c("store")].replace("", store.name) if c("store") else store.name,
                "marketplace": erp[c("marketplace")].str.strip().str.lower() if c("marketplace") else "",
                "status": erp[c("status")].map(statuses),
                "ship_date": pd.to_datetime(erp[c("ship_date")].replace("", None), format=store.date_format),
                "currency": erp[c("currency")],
                "amount_minor": amount,
                "refunded_minor": to_minor(erp[c("refunded_amount")], style).abs()
                if c("refunded_amount")
                else pd.NA,
            }
        )
        frames.append(frame)
    items = pd.concat(frames, ignore_index=True)
    # One row per order: amounts and refunds add up over its item rows; exports repeat the
    # order's status, store and marketplace on every row; the ship date is the latest.
    return items.groupby("order_id", sort=False).agg(
        store=("store", "first"),
        marketplace=("marketplace", "first"),
        status=("status", "first"),
        ship_date=("ship_date", "max"),
        currency=("currency", "first"),
        amount_minor=("amount_minor", "sum"),
        refunded_minor=("refunded_minor", lambda s: s.sum(min_count=1)),
    )


def line_facts(lines):
    is_order = lines["transaction"] == "order"
    counts = lines["component"].isin(AMOUNT_COMPONENTS)
    lines["settled_part"] = lines["amount_minor"].where(is_order & counts, 0)
    lines["refund_part"] = -lines["amount_minor"].where((lines["transaction"] == "refund") & counts, 0)
    lines["is_order"] = is_order
    by_order = lines.groupby("order_id", sort=False).agg(
        line_store=("store", "first"),
        line_marketplace=("marketplace", "min"),
        line_count=("amount_minor", "size"),
        currency_count=("currency", "nunique"),
        line_currency=("currency", "first"),
        settled=("is_order", "any"),
        settled_minor=("settled_part", "sum"),
        refunds_settled_minor=("refund_part", "sum"),
    )
    # Lines that repeat another line of the same order exactly.
    fingerprint = [c for c in FINGERPRINT_COLUMNS if c != "order-id"] + ["order_id"]
    repeated = lines.duplicated(subset=fingerprint, keep=False)
    by_order["duplicate"] = by_order.index.isin(lines.loc[repeated, "order_id"].unique())
    return by_order


def fee_anomalies(month, lines, keys):
    """Per order item (Order lines): commission and FBA fee against the schedule."""
    sale = lines.loc[lines["is_order"]]
    component = sale["component"]
    parts = pd.DataFrame(
        {
            "order_id": sale["order_id"],
            "item": sale["item"],
            "sales_minor": sale["amount_minor"].where(component.isin(["principal", "shipping", "gift_wrap"]), 0),
            "quantity": sale["quantity"].where(component == "principal", 0),
            "commission_minor": -sale["amount_minor"].where(component == "commission", 0),
            "fba_fee_minor": -sale["amount_minor"].where(component == "fba_fee", 0),
        }
    )
    items = parts.groupby(["order_id", "item"], sort=False).agg(
        sales_minor=("sales_minor", "sum"),
        quantity=("quantity", "max"),
        commission_minor=("commission_minor", "sum"),
        fba_fee_minor=("fba_fee_minor", "sum"),
    )
    items = items.reset_index().merge(keys, on="order_id")
    pairs = items[["store", "marketplace"]].drop_duplicates()
    schedules = []
    for store, marketplace in pairs.itertuples(index=False):
        schedule = month.schedule_for(store, marketplace)
        if schedule:
            schedules.append((store, marketplace, *schedule))
    schedule = pd.DataFrame(
        schedules, columns=["store", "marketplace", "rate_basis_points", "fba_fee_per_unit_minor", "tolerance_minor"]
    )
    items = items.merge(schedule, on=["store", "marketplace"])
    sales = items["sales_minor"].astype("int64")
    # rate × sales / 10 000, rounded half away from zero, in integers.
    expected_commission = np.sign(sales) * ((sales.abs() * items["rate_basis_points"] + 5000) // 10000)
    expected_fba = items["fba_fee_per_unit_minor"] * items["quantity"].clip(lower=1)
    anomaly = (items["commission_minor"] > expected_commission + items["tolerance_minor"]) | (
        items["fba_fee_per_unit_minor"].notna() & (items["fba_fee_minor"] > expected_fba + items["tolerance_minor"])
    )
    return items.loc[anomaly, "order_id"].unique()


def classify(month, orders, by_order, anomalous):
    facts = orders.join(by_order, how="outer")
    in_erp = facts["status"].notna()
    facts["store"] = facts["store"].where(in_erp, facts["line_store"])
    settled = facts["settled"].fillna(False).astype(bool)
    line_count = facts["line_count"].fillna(0).astype("int64")
    settled_minor = facts["settled_minor"].fillna(0).astype("int64")
    refunds = facts["refunds_settled_minor"].fillna(0).astype("int64")
    status = facts["status"]
    cancelled = status == "Cancelled"
    shipped = ~cancelled & (status.isin(["Shipped", "PartiallyShipped", "Refunded"]) | facts["ship_date"].notna())
    written_off = facts["refunded_minor"].where(
        facts["refunded_minor"].notna(), facts["amount_minor"].where(status == "Refunded", 0)
    ).fillna(0)
    foreign = (facts["currency_count"].fillna(0) > 1) | (
        facts["line_currency"].notna() & (facts["line_currency"] != facts["currency"])
    )
    flags = {
        "settled_not_in_orders": ~in_erp,
        "cancelled_but_settled": in_erp & cancelled & settled,
        "duplicate_settlement_line": facts["duplicate"].fillna(False).astype(bool),
        "shipped_not_settled": in_erp & shipped & ~settled,
        "refunded_not_written_off": in_erp & (refunds > written_off),
        "amount_mismatch": in_erp
        & settled
        & (foreign | ((settled_minor - facts["amount_minor"]).abs() > month.amount_tolerance_minor)),
        "fee_anomaly": pd.Series(facts.index.isin(anomalous), index=facts.index),
        "not_due": in_erp & ~shipped & (line_count == 0),
    }
    flags = {name: flag.fillna(False).astype(bool) for name, flag in flags.items()}
    category = np.select(list(flags.values()), list(flags.keys()), default="matched")
    flag_text = pd.Series("", index=facts.index)
    for name, flag in flags.items():
        flag_text = flag_text.where(~flag, flag_text + np.where(flag_text == "", "", "|") + name)
    days_since_ship = None
    if month.as_of:
        days = (pd.Timestamp(month.as_of) - facts["ship_date"]).dt.days
        days_since_ship = days.where(flags["shipped_not_settled"]).astype("Int64")
    return pd.DataFrame(
        {
            "store": facts["store"],
            "category": category,
            "flags": flag_text,
            "order_amount_minor": facts["amount_minor"].astype("Int64"),
            "settled_amount_minor": settled_minor,
            "refunds_settled_minor": refunds,
            "written_off_minor": written_off.astype("Int64"),
            "days_since_ship": days_since_ship,
            "line_count": line_count,
        },
        index=facts.index.rename("order_id"),
    )


def load_payouts(month):
    """Every settlement with a positive total: a payout on the UTC date of its deposit date.
    V2 flat files give the settlement's summary (total, currency, deposit date) in their
    first row."""
    frames = []
    for store in month.stores:
        for path in store.settlement_files:
            frame = pd.read_csv(
                path,
                sep="\t",
                dtype=str,
                nrows=1,
                usecols=["settlement-id", "total-amount", "currency", "deposit-date"],
                keep_default_na=False,
                quoting=csv.QUOTE_NONE,
            )
            frame["store"] = store.name
            frames.append(frame)
    summary = pd.concat(frames, ignore_index=True)
    summary["amount_minor"] = to_minor(summary["total-amount"], "per-value")
    day = summary["deposit-date"].str[:10]
    german = day.str.match(r"\d\d\.\d\d\.\d{4}")
    summary["date"] = pd.to_datetime(day.where(~german, day.str[6:10] + "-" + day.str[3:5] + "-" + day.str[:2]))
    summary = summary.loc[summary["amount_minor"] > 0]
    return [
        {"settlement_id": int(i), "store": s, "currency": c, "amount_minor": int(a), "date": d.date()}
        for i, s, c, a, d in summary[["settlement-id", "store", "currency", "amount_minor", "date"]].itertuples(
            index=False
        )
    ]


def receipt_candidates(rule, left_units, right_items):
    """The rule engine's candidate pairs, with pandas merges: the references' `candidates_of`."""
    left = pd.DataFrame(
        {
            "u": range(len(left_units)),
            "amount": [i["amount_minor"] for i in left_units],
            "currency": [i["currency"] for i in left_units],
            "day": pd.to_datetime([i["date"] for i in left_units]),
            "reference": [receipts.fold(i["reference"]) for i in left_units],
            **{k: [i["keys"].get(k, "") for i in left_units] for k in ("store", "deposit_date", "account")},
        }
    )
    right = pd.DataFrame(
        {
            "r": range(len(right_items)),
            "right_amount": [i["amount_minor"] for i in right_items],
            "right_currency": [i["currency"] for i in right_items],
            "right_day": pd.to_datetime([i["date"] for i in right_items]),
            "folded": [receipts.fold(i["text"]) for i in right_items],
            "right_account": [i["keys"].get("account", "") for i in right_items],
            "original_amount": [i["original_minor"] for i in right_items],
            "original_currency": [i["original_currency"] or "" for i in right_items],
        }
    )
    pairs = [left.merge(right, left_on="currency", right_on="right_currency").assign(converted=False)]
    if rule.allow_conversion:
        converted = left.merge(right, left_on="currency", right_on="original_currency")
        converted = converted.loc[converted["right_currency"] != converted["currency"]]
        pairs.append(converted.assign(right_amount=converted["original_amount"], converted=True))
    pairs = pd.concat(pairs, ignore_index=True)
    if pairs.empty:
        return []
    right_keys = {"store": None, "deposit_date": None, "account": "right_account"}
    for key in rule.keys:
        pairs = pairs.loc[pairs[key] == (pairs[right_keys[key]] if right_keys[key] else "")]
    for key in rule.distinct_keys:
        pairs = pairs.loc[pairs[key] != (pairs[right_keys[key]] if right_keys[key] else "")]
    amount_difference = pairs["right_amount"].astype("int64") - pairs["amount"]
    date_difference = (pairs["right_day"] - pairs["day"]).dt.days
    absolute = pairs["currency"].map(lambda c: rule.absolute_tolerance(c))
    tolerance = np.maximum(absolute, (pairs["amount"].abs() * rule.tolerance_basis_points * 2 + 10_000) // 20_000)
    agreed = pd.Series(
        [bool(ref) and ref in text for ref, text in zip(pairs["reference"], pairs["folded"])], index=pairs.index
    )
    keep = (
        (amount_difference.abs() <= tolerance)
        & date_difference.between(-rule.days_before, rule.days_after)
        & (agreed | (not rule.reference_required))
    )
    return [
        (u, r, receipts.score(rule, t, a, d, g), d, a, c)
        for u, r, t, a, d, g, c in zip(
            pairs["u"][keep],
            pairs["r"][keep],
            tolerance[keep],
            amount_difference[keep],
            date_difference[keep],
            agreed[keep],
            pairs["converted"][keep],
        )
    ]


def reconcile_receipts(month, args):
    payouts = load_payouts(month)
    entries = receipts.read_statements(month.directory)
    results = receipts.reconcile(payouts, entries, receipts.Rules(), month.as_of_date(), receipt_candidates)
    receipts.write_results(args.receipts_out, results)
    print(f"pandas receipts: {len(payouts)} payouts, {len(entries)} statement entries; result: {args.receipts_out}")


def main():
    args = parse_args(sys.argv[1:], "pandas")
    month = Month(args.directory, args.as_of)
    if args.receipts != "only":
        lines = load_lines(month)
        orders = load_orders(month)
        by_order = line_facts(lines)
        keys = pd.concat(
            [
                orders[["store", "marketplace"]],
                by_order.loc[~by_order.index.isin(orders.index), ["line_store", "line_marketplace"]].set_axis(
                    ["store", "marketplace"], axis=1
                ),
            ]
        ).rename_axis("order_id")
        anomalous = fee_anomalies(month, lines, keys.reset_index())
        del lines
        result = classify(month, orders, by_order, anomalous).sort_index()
        assert set(result["category"].unique()) <= set(CATEGORIES)
        result.to_csv(args.out)
        print_counts("pandas", result["category"].value_counts().to_dict(), time.perf_counter() - STARTED)
        print(f"result: {args.out}")
    if args.receipts != "without":
        reconcile_receipts(month, args)
    finish(args, "pandas", STARTED)


if __name__ == "__main__":
    main()
