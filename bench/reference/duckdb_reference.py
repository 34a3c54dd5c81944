"""DuckDB reference: classifies every order of a generated month in SQL, as an analyst
would with DuckDB, and writes one row per order.

    python3 bench/reference/duckdb_reference.py DIR [--out FILE] [--as-of DATE] [--receipts with|without|only] [--check]

Reads the files as they are: the Amazon settlement flat files (tab-separated; the DE
store's amounts with a decimal comma, a few with a dot), each store's ERP export through
its column mapping (delimiter, title rows, number style, date format, status aliases),
and the fee schedules of tieout.toml. The rules are tieout's (crates/core/src/reconcile.rs):

* settled: the order has a line of transaction type `Order`; settled amount: the sum of
  its Order lines for principal, shipping, gift wrap and promotions (taxes excluded);
* settled_not_in_orders: lines carry an order id no ERP export has;
* cancelled_but_settled: ERP status Cancelled, and settled;
* duplicate_settlement_line: two lines of the order have the same fingerprint
  (transaction type, order id, adjustment id, shipment id, order-item-code, SKU, amount
  type, description, promotion id, amount);
* shipped_not_settled: shipped (Shipped / PartiallyShipped / Refunded, or a ship date, and
  not cancelled) and not settled;
* refunded_not_written_off: refunds settled (principal, shipping, gift wrap, promotions of
  Refund lines, positive) exceed the ERP's refunded amount (or the order amount when the
  status is Refunded and no amount is given, else 0);
* amount_mismatch: settled, and the settled amount differs from the order amount by more
  than the tolerance, or a line is in another currency;
* fee_anomaly: per order item, commission on Order lines > round_half_away(rate × item
  sales) + tolerance, or FBA fee > fee per unit × quantity + tolerance;
* not_due: not shipped and no line at all; matched: none of the above.
"""

import time

STARTED = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402

import duckdb  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import receipts  # noqa: E402
from common import SETTLEMENT_COLUMNS, Month, finish, parse_args, print_counts  # noqa: E402


def sql_string(text):
    return "'" + str(text).replace("'", "''") + "'"


def sql_list(items):
    return "[" + ", ".join(sql_string(i) for i in items) + "]"


def amount_sql(column, number_style):
    """Text → exact minor units (DECIMAL, never a float). Settlement files mix `5,05` and
    `5.05` per value (`per-value`); ERP exports follow their mapping's number style."""
    if number_style == "comma":
        text = f"replace(replace({column}, '.', ''), ',', '.')"
    elif number_style == "dot":
        text = f"replace({column}, ',', '')"
    else:  # per value: Amazon writes two decimals and no thousands separator
        text = f"replace({column}, ',', '.')"
    return f"CAST(CAST({text} AS DECIMAL(18, 2)) * 100 AS BIGINT)"


# The settlement columns, read as text (the 24 of flat file V2, in order).
V2_COLUMNS = [
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
    "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id",
    "marketplace-name", "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date",
    "posted-date-time", "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku",
    "quantity-purchased", "promotion-id",
]  # fmt: skip


def load_settlements(con, month, lines=True):
    """The settlement table (one row per settlement: its store, currency, total and deposit
    date) and, with `lines`, the line_class table (every line with an order id)."""
    columns = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in V2_COLUMNS) + "}"
    wanted = SETTLEMENT_COLUMNS + ["deposit-date"]
    selects = []
    for store in month.stores:
        if not store.settlement_files:
            continue
        selects.append(
            f"SELECT {sql_string(store.name)} AS store, "
            + ", ".join(f'"{c}"' for c in wanted)
            + f" FROM read_csv({sql_list(store.settlement_files)}, delim = '\\t', header = true, quote = '',"
            f" escape = '', auto_detect = false, columns = {columns})"
            + ("" if lines else ' WHERE "total-amount" IS NOT NULL')
        )
    con.execute("CREATE TEMP TABLE raw_line AS " + " UNION ALL ".join(selects))
    # A settlement's summary row carries its total, currency and deposit date (UTC; the DE
    # store writes dd.mm.yyyy); its lines inherit the currency.
    con.execute(
        f"""
        CREATE TEMP TABLE settlement AS
        SELECT "settlement-id" AS settlement_id, any_value(store) AS store, any_value(currency) AS currency,
               any_value({amount_sql('"total-amount"', 'per-value')}) AS total_minor,
               any_value(CASE WHEN "deposit-date" LIKE '__.__.____%'
                              THEN strptime(left("deposit-date", 10), '%d.%m.%Y')::DATE
                              ELSE CAST(left("deposit-date", 10) AS DATE) END) AS deposit_date
        FROM raw_line WHERE "total-amount" IS NOT NULL GROUP BY ALL
        """
    )
    if not lines:
        con.execute("DROP TABLE raw_line")
        return
    con.execute(
        f"""
        CREATE TEMP TABLE line AS
        SELECT l.store, trim(l."order-id") AS order_id,
               coalesce(l.currency, s.currency) AS currency,
               lower(trim(l."marketplace-name")) AS marketplace,
               lower(trim(l."transaction-type")) AS transaction,
               lower(trim(l."amount-type")) AS amount_type,
               lower(trim(l."amount-description")) AS description,
               {amount_sql('l.amount', 'per-value')} AS amount_minor,
               coalesce(nullif(l."order-item-code", ''), l.sku) AS item,
               CAST(coalesce(l."quantity-purchased", '0') AS INTEGER) AS quantity,
               l."transaction-type", l."adjustment-id", l."shipment-id", l."order-item-code", l.sku,
               l."amount-type", l."amount-description", l."promotion-id"
        FROM raw_line l JOIN settlement s ON s.settlement_id = l."settlement-id"
        WHERE l."total-amount" IS NULL AND l."order-id" IS NOT NULL
        """
    )
    con.execute("DROP TABLE raw_line")
    # What each line is (tieout's classify_component, for the components reconciliation uses).
    con.execute(
        """
        CREATE TEMP TABLE line_class AS
        SELECT *,
          CASE WHEN description IN ('current reserve amount', 'previous reserve amount balance') THEN 'reserve'
               WHEN amount_type IN ('promotion', 'itempromotion') THEN 'promotion'
               WHEN description LIKE 'marketplacefacilitator%' THEN 'facilitator_tax'
               WHEN amount_type = 'itemprice' AND description = 'principal' THEN 'principal'
               WHEN amount_type = 'itemprice' AND description = 'shipping' THEN 'shipping'
               WHEN amount_type = 'itemprice' AND description = 'giftwrap' THEN 'gift_wrap'
               WHEN amount_type = 'itemprice' AND description IN ('tax', 'shippingtax', 'giftwraptax') THEN 'tax'
               WHEN description = 'commission' THEN 'commission'
               WHEN description = 'fbaperunitfulfillmentfee' THEN 'fba_fee'
               WHEN description = 'refundcommission' THEN 'refund_commission'
               WHEN amount_type IN ('itemfees', 'itemrelatedfees', 'shipment-fees', 'order-fees') THEN 'other_fee'
               ELSE 'other' END AS component
        FROM line
        """
    )
    con.execute("DROP TABLE line")


def load_orders(con, month):
    selects = []
    statuses = {}
    for store in month.stores:
        c = store.column
        style = store.number_style

        def money(field):
            return amount_sql(f'"{c(field)}"', style)

        amount = money("item_price")
        for field in ("shipping_price", "gift_wrap_price"):
            if c(field):
                amount += f" + coalesce({money(field)}, 0)"
        if c("discount"):  # written positive or negative, a discount reduces the amount
            amount += f" - abs(coalesce({money('discount')}, 0))"
        refunded_sql = f"abs({money('refunded_amount')})" if c("refunded_amount") else "NULL"
        store_sql = f'coalesce("{c("store")}", {sql_string(store.name)})' if c("store") else sql_string(store.name)
        marketplace_sql = f'"{c("marketplace")}"' if c("marketplace") else "NULL"
        source = (
            f"read_csv({sql_string(store.orders_file)}, delim = {sql_string(store.delimiter)}, header = true,"
            f" skip = {store.header_row - 1}, all_varchar = true)"
        )
        selects.append(
            f"""SELECT trim("{c('order_id')}") AS order_id, {store_sql} AS store,
                       lower(trim({marketplace_sql})) AS marketplace,
                       "{c('status')}" AS status_text,
                       strptime(nullif(trim("{c('ship_date')}"), ''), {sql_string(store.date_format)})::DATE AS ship_date,
                       "{c('currency')}" AS currency, {amount} AS amount_minor, {refunded_sql} AS refunded_minor
                FROM {source}"""
        )
        # The few distinct status texts, mapped once through the mapping's aliases.
        for (text,) in con.execute(f'SELECT DISTINCT "{c("status")}" FROM {source}').fetchall():
            statuses[text] = store.status(text)
    con.execute("CREATE TEMP TABLE status_map (status_text VARCHAR, status VARCHAR)")
    con.executemany("INSERT INTO status_map VALUES (?, ?)", list(statuses.items()))
    # One row per order: amounts and refunds add up over its item rows; exports repeat the
    # order's status, store and marketplace on every row; the ship date is the latest.
    con.execute(
        f"""
        CREATE TEMP TABLE erp_order AS
        SELECT order_id, any_value(store) AS store, any_value(marketplace) AS marketplace,
               any_value(m.status) AS status, max(ship_date) AS ship_date, any_value(currency) AS currency,
               sum(amount_minor) AS amount_minor, sum(refunded_minor) AS refunded_minor
        FROM ({' UNION ALL '.join(selects)}) JOIN status_map m USING (status_text)
        GROUP BY order_id
        """
    )


def load_fee_schedules(con, month):
    con.execute(
        "CREATE TEMP TABLE fee_rule (store VARCHAR, marketplace VARCHAR, rate_basis_points BIGINT,"
        " fba_fee_per_unit_minor BIGINT, tolerance_minor BIGINT)"
    )
    if month.fee_rules():
        con.executemany("INSERT INTO fee_rule VALUES (?, ?, ?, ?, ?)", month.fee_rules())


CLASSIFY = """
CREATE TEMP TABLE line_order AS
SELECT order_id,
       any_value(store) AS store, min(marketplace) AS marketplace,
       count(*) AS line_count,
       count(DISTINCT currency) AS currency_count, any_value(currency) AS currency,
       bool_or(transaction = 'order') AS settled,
       coalesce(sum(amount_minor) FILTER (transaction = 'order'
                AND component IN ('principal', 'shipping', 'gift_wrap', 'promotion')), 0) AS settled_minor,
       coalesce(-sum(amount_minor) FILTER (transaction = 'refund'
                AND component IN ('principal', 'shipping', 'gift_wrap', 'promotion')), 0) AS refunds_settled_minor,
       sum(amount_minor) AS net_settled_minor
FROM line_class GROUP BY order_id;

-- Lines that repeat another line of the same order exactly.
CREATE TEMP TABLE duplicated AS
SELECT DISTINCT order_id FROM line_class
GROUP BY order_id, "transaction-type", "adjustment-id", "shipment-id", "order-item-code", sku,
         "amount-type", "amount-description", "promotion-id", amount_minor
HAVING count(*) > 1;

-- Every order id either side knows, with the store and marketplace its schedule is chosen by.
CREATE TEMP TABLE order_key AS
SELECT coalesce(o.order_id, l.order_id) AS order_id,
       coalesce(o.store, l.store) AS store,
       coalesce(o.marketplace, l.marketplace) AS marketplace
FROM erp_order o FULL JOIN line_order l USING (order_id);

-- The most specific fee schedule per (store, marketplace).
CREATE TEMP TABLE schedule AS
SELECT store, marketplace, rate_basis_points, fba_fee_per_unit_minor, tolerance_minor FROM (
  SELECT k.store, k.marketplace, r.rate_basis_points, r.fba_fee_per_unit_minor, r.tolerance_minor,
         row_number() OVER (PARTITION BY k.store, k.marketplace
           ORDER BY (r.store IS NOT NULL AND r.marketplace IS NOT NULL) DESC,
                    (r.marketplace IS NOT NULL) DESC, (r.store IS NOT NULL) DESC) AS rank
  FROM (SELECT DISTINCT store, marketplace FROM order_key) k
  JOIN fee_rule r ON (r.store IS NULL OR r.store = k.store)
                 AND (r.marketplace IS NULL OR r.marketplace = k.marketplace)
) WHERE rank = 1;

-- Fees per order item (Order lines), against the schedule.
CREATE TEMP TABLE fee_check AS
WITH item AS (
  SELECT order_id, item,
         sum(amount_minor) FILTER (component IN ('principal', 'shipping', 'gift_wrap')) AS sales_minor,
         max(quantity) FILTER (component = 'principal') AS quantity,
         -sum(amount_minor) FILTER (component = 'commission') AS commission_minor,
         -sum(amount_minor) FILTER (component = 'fba_fee') AS fba_fee_minor
  FROM line_class WHERE transaction = 'order' GROUP BY order_id, item
)
SELECT i.order_id,
       bool_or(coalesce(i.commission_minor, 0) >
                 sign(coalesce(i.sales_minor, 0)) * ((abs(coalesce(i.sales_minor, 0)) * s.rate_basis_points + 5000) // 10000)
                 + s.tolerance_minor
               OR (s.fba_fee_per_unit_minor IS NOT NULL AND coalesce(i.fba_fee_minor, 0) >
                   s.fba_fee_per_unit_minor * greatest(coalesce(i.quantity, 0), 1) + s.tolerance_minor)) AS fee_anomaly
FROM item i JOIN order_key k USING (order_id) JOIN schedule s USING (store, marketplace)
GROUP BY i.order_id;

CREATE TEMP TABLE result AS
WITH fact AS (
  SELECT k.order_id, k.store, o.order_id IS NOT NULL AS in_erp, o.status, o.ship_date,
         o.amount_minor AS order_amount_minor,
         coalesce(l.settled, false) AS settled,
         coalesce(l.line_count, 0) AS line_count,
         coalesce(l.settled_minor, 0) AS settled_minor,
         coalesce(l.refunds_settled_minor, 0) AS refunds_settled_minor,
         coalesce(l.currency_count > 1 OR l.currency <> o.currency, false) AS foreign_currency,
         CASE WHEN o.refunded_minor IS NOT NULL THEN o.refunded_minor
              WHEN o.status = 'Refunded' THEN o.amount_minor ELSE 0 END AS written_off_minor,
         o.status = 'Cancelled' AS cancelled,
         o.status <> 'Cancelled' AND (o.status IN ('Shipped', 'PartiallyShipped', 'Refunded') OR o.ship_date IS NOT NULL)
           AS shipped,
         d.order_id IS NOT NULL AS duplicate,
         coalesce(f.fee_anomaly, false) AS fee_anomaly
  FROM order_key k
  LEFT JOIN erp_order o USING (order_id)
  LEFT JOIN line_order l USING (order_id)
  LEFT JOIN duplicated d USING (order_id)
  LEFT JOIN fee_check f USING (order_id)
), flag AS (
  SELECT *,
         NOT in_erp AS f_settled_not_in_orders,
         in_erp AND cancelled AND settled AS f_cancelled_but_settled,
         duplicate AS f_duplicate_settlement_line,
         in_erp AND shipped AND NOT settled AS f_shipped_not_settled,
         in_erp AND refunds_settled_minor > written_off_minor AS f_refunded_not_written_off,
         in_erp AND settled AND (foreign_currency OR abs(settled_minor - order_amount_minor) > {tolerance})
           AS f_amount_mismatch,
         fee_anomaly AS f_fee_anomaly,
         in_erp AND NOT shipped AND line_count = 0 AS f_not_due
  FROM fact
)
SELECT order_id, store,
       CASE WHEN f_settled_not_in_orders THEN 'settled_not_in_orders'
            WHEN f_cancelled_but_settled THEN 'cancelled_but_settled'
            WHEN f_duplicate_settlement_line THEN 'duplicate_settlement_line'
            WHEN f_shipped_not_settled THEN 'shipped_not_settled'
            WHEN f_refunded_not_written_off THEN 'refunded_not_written_off'
            WHEN f_amount_mismatch THEN 'amount_mismatch'
            WHEN f_fee_anomaly THEN 'fee_anomaly'
            WHEN f_not_due THEN 'not_due'
            ELSE 'matched' END AS category,
       concat_ws('|',
         CASE WHEN f_settled_not_in_orders THEN 'settled_not_in_orders' END,
         CASE WHEN f_cancelled_but_settled THEN 'cancelled_but_settled' END,
         CASE WHEN f_duplicate_settlement_line THEN 'duplicate_settlement_line' END,
         CASE WHEN f_shipped_not_settled THEN 'shipped_not_settled' END,
         CASE WHEN f_refunded_not_written_off THEN 'refunded_not_written_off' END,
         CASE WHEN f_amount_mismatch THEN 'amount_mismatch' END,
         CASE WHEN f_fee_anomaly THEN 'fee_anomaly' END,
         CASE WHEN f_not_due THEN 'not_due' END) AS flags,
       order_amount_minor, settled_minor AS settled_amount_minor, refunds_settled_minor, written_off_minor,
       CASE WHEN f_shipped_not_settled THEN {as_of} - ship_date END AS days_since_ship,
       line_count
FROM flag;
"""


def receipt_candidates(con):
    """The rule engine's candidate pairs, in SQL: the references' `candidates_of`."""

    def candidates_of(rule, left_units, right_items):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE left_unit (u INTEGER, amount BIGINT, currency VARCHAR, day DATE,"
            " reference VARCHAR, store VARCHAR, deposit_date VARCHAR, account VARCHAR)"
        )
        con.executemany(
            "INSERT INTO left_unit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (u, i["amount_minor"], i["currency"], i["date"], i["reference"], i["keys"].get("store"),
                 i["keys"].get("deposit_date"), i["keys"].get("account"))
                for u, i in enumerate(left_units)
            ],  # fmt: skip
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE right_item (r INTEGER, amount BIGINT, currency VARCHAR, day DATE,"
            " text VARCHAR, account VARCHAR, original_amount BIGINT, original_currency VARCHAR)"
        )
        con.executemany(
            "INSERT INTO right_item VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r, i["amount_minor"], i["currency"], i["date"], i["text"], i["keys"].get("account"),
                 i["original_minor"], i["original_currency"])
                for r, i in enumerate(right_items)
            ],  # fmt: skip
        )
        absolute = str(rule.tolerance_minor.get("*", 0))
        per_currency = "".join(f"WHEN {sql_string(c)} THEN {m} " for c, m in rule.tolerance_minor.items() if c != "*")
        if per_currency:
            absolute = f"CASE l.currency {per_currency}ELSE {absolute} END"
        same = [f"coalesce(l.{k}, '') = coalesce(r.{k}, '')" for k in rule.keys]
        different = [f"coalesce(l.{k}, '') <> coalesce(r.{k}, '')" for k in rule.distinct_keys]
        return con.execute(
            f"""
            WITH pair AS (
              SELECT l.u, r.r, r.currency <> l.currency AS converted,
                     CASE WHEN r.currency = l.currency THEN r.amount ELSE r.original_amount END - l.amount
                       AS amount_difference,
                     r.day - l.day AS date_difference,
                     greatest({absolute}, (abs(l.amount) * {rule.tolerance_basis_points} * 2 + 10000) // 20000)
                       AS tolerance,
                     l.reference <> '' AND contains(lower(regexp_replace(r.text, '\\s', '', 'g')),
                                                    lower(regexp_replace(l.reference, '\\s', '', 'g')))
                       AS reference_agreed
              FROM left_unit l JOIN right_item r
                ON r.currency = l.currency
                   OR ({str(rule.allow_conversion).lower()} AND r.original_currency = l.currency)
              WHERE {' AND '.join(same + different) or 'true'}
            )
            SELECT u, r,
                   greatest(100 - CASE WHEN tolerance = 0 THEN 0 ELSE abs(amount_difference) * 40 // tolerance END
                                - least(abs(date_difference) * 40 // {max(rule.days_before + rule.days_after, 1)}, 40)
                                - CASE WHEN reference_agreed THEN 0 ELSE 20 END, 0) AS score,
                   date_difference, amount_difference, converted
            FROM pair
            WHERE abs(amount_difference) <= tolerance
              AND date_difference BETWEEN -{rule.days_before} AND {rule.days_after}
              AND ({str(not rule.reference_required).lower()} OR reference_agreed)
            """
        ).fetchall()

    return candidates_of


def reconcile_receipts(con, month, args):
    payouts = [
        {"settlement_id": int(i), "store": s, "currency": c, "amount_minor": a, "date": d}
        for i, s, c, a, d in con.execute(
            "SELECT settlement_id, store, currency, total_minor, deposit_date FROM settlement WHERE total_minor > 0"
        ).fetchall()
    ]
    entries = receipts.read_statements(month.directory)
    results = receipts.reconcile(payouts, entries, receipts.Rules(), month.as_of_date(), receipt_candidates(con))
    receipts.write_results(args.receipts_out, results)
    print(f"duckdb receipts: {len(payouts)} payouts, {len(entries)} statement entries; result: {args.receipts_out}")


def main():
    args = parse_args(sys.argv[1:], "duckdb")
    month = Month(args.directory, args.as_of)
    con = duckdb.connect()  # in memory; DuckDB spills to a temp directory past its memory limit
    con.execute(f"SET temp_directory = {sql_string(os.path.join(os.path.dirname(args.out), 'duckdb.tmp'))}")
    load_settlements(con, month, lines=args.receipts != "only")
    if args.receipts != "only":
        load_orders(con, month)
        load_fee_schedules(con, month)
        as_of = f"DATE {sql_string(month.as_of)}" if month.as_of else "NULL::DATE"
        con.execute(CLASSIFY.format(tolerance=month.amount_tolerance_minor, as_of=as_of))
        con.execute(
            f"COPY (SELECT * FROM result ORDER BY order_id) TO {sql_string(args.out)} (HEADER, DELIMITER ',')"
        )
        counts = dict(con.execute("SELECT category, count(*) FROM result GROUP BY category").fetchall())
        print_counts("duckdb", counts, time.perf_counter() - STARTED)
        print(f"result: {args.out}")
    if args.receipts != "without":
        reconcile_receipts(con, month, args)
    con.close()
    finish(args, "duckdb", STARTED)


if __name__ == "__main__":
    main()
