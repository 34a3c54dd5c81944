"""pandas reference: classifies every order of a generated month with pandas, as an
analyst would, and writes one row per order.

    python3 bench/reference/pandas_reference.py DIR [--out FILE] [--as-of DATE] [--check]

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


def main():
    args = parse_args(sys.argv[1:], "pandas")
    month = Month(args.directory, args.as_of)
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
    finish(args, "pandas", STARTED)


if __name__ == "__main__":
    main()
