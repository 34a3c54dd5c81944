"""Payout ↔ receipt reconciliation for the references: the parts DuckDB and pandas share.

Neither DuckDB nor pandas reads camt.053 or MT940, so the statements are read here, as an
analyst would with the standard library (expat for the XML, line by line for MT940, csv
for the payment tools' CSVs, GBK for the Alipay 账务明细). Each reference then finds the
candidate pairs of every rule in its own language (SQL / pandas merges); choosing among
candidates is a sequential, exclusive walk (the left units in (date, amount, ids) order,
each taking its best free candidate), written once here.

The rules are tieout's (crates/core/src/receipts.rs and matching.rs, the built-in rules
of crates/service/src/default-rules.toml, read from that file):
* a payout is a settlement with a positive total, on the UTC date of its deposit date;
* withdrawals (debits whose text matches `withdrawal_pattern`) are matched first, by the
  withdrawal rules, to credits of other accounts; then payouts, by the rules, to the
  credits left;
* a rule's candidates: same currency (or, with `allow_conversion`, a stated original
  amount in the left currency), amount within the tolerance (the larger of the absolute
  and the relative one), right date within [−days_before, +days_after] of the left date,
  equal `keys`, different `distinct_keys`, and the reference test; score 100 − amount
  penalty (≤ 40) − date penalty (≤ 40) − 20 without the reference in the text;
* the best candidate: highest score, nearest date, smallest amount difference, lowest id;
  a `unique_only` rule (the default) takes none when several qualify;
* status: received_converted, received_short (less than expected), received_late (more
  than `on_time_days` after), received; unmatched: missing (as-of past the date +
  `missing_after_days`, and for a withdrawal another account in its currency has
  entries up to then) or pending; a credit nothing matched whose text names a payer
  (`payer_pattern`) is an unexpected_receipt.
"""

import csv
import datetime
import glob
import os
import re
import tomllib
import xml.parsers.expat

# tieout's built-in rules, read from the source tree (the references read, never change it).
RULES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "service", "src", "default-rules.toml")


def minor(text):
    """`1234.56`, `1234,56`, `-4.75` → minor units (two decimals)."""
    text = text.strip().replace(",", ".")
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("+-").partition(".")
    value = int(whole or "0") * 100 + int((fraction + "00")[:2])
    return -value if negative else value


def fold(text):
    """Lower case, no whitespace: how the `contains` test compares."""
    return "".join(text.split()).lower()


def entry(account, currency, amount_minor, day, text, ref, file, line, original=None):
    return {
        "account": account,
        "currency": currency,
        "amount_minor": amount_minor,
        "date": day,
        "text": text,
        "ref": ref,
        "file": file,
        "line": line,
        "original_minor": original[0] if original else None,
        "original_currency": original[1] if original else None,
    }


def read_camt(path, relative):
    """camt.053: one entry per <Ntry>, at the line of its start tag."""
    entries, stack, current, account = [], [], None, ""
    text_parts = []
    parser = xml.parsers.expat.ParserCreate()

    def start(name, attributes):
        nonlocal current
        stack.append(name)
        text_parts.clear()
        if name == "Ntry":
            current = {"line": parser.CurrentLineNumber, "texts": []}
        elif name == "Amt" and current is not None and stack[-2] == "Ntry":
            current["currency"] = attributes.get("Ccy")

    def data(chunk):
        text_parts.append(chunk)

    def end(name):
        nonlocal current, account
        value = "".join(text_parts).strip()
        text_parts.clear()
        path_now = "/".join(stack)
        stack.pop()
        if name == "IBAN" and "Acct" in path_now:
            account = value
        if current is None:
            return
        if name == "Amt" and path_now.endswith("Ntry/Amt"):
            current["amount"] = minor(value)
        elif name == "CdtDbtInd" and path_now.endswith("Ntry/CdtDbtInd"):
            current["credit"] = value == "CRDT"
        elif name == "Dt" and "BookgDt" in path_now:
            current["date"] = datetime.date.fromisoformat(value)
        elif name == "AcctSvcrRef":
            current["ref"] = value
        elif name in ("Nm", "Ustrd") and value:
            current["texts"].append(value)
        elif name == "Ntry":
            amount = current["amount"] if current["credit"] else -current["amount"]
            text = " ".join([current.get("ref", "")] + current["texts"])
            entries.append(
                entry(account, current["currency"], amount, current["date"], text, current.get("ref", ""), relative, current["line"])
            )
            current = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    with open(path, "rb") as f:
        parser.ParseFile(f)
    return entries


MT940_61 = re.compile(r":61:(\d{6})(\d{4})?(R?[CD])([A-Z])?([\d,]+)N?([A-Z0-9]{3})([^/]*)(?://(.*))?")


def read_mt940(path, relative):
    """MT940: one entry per :61: line, its text the following :86: field."""
    entries, account, currency = [], "", ""
    with open(path, encoding="latin-1") as f:
        lines = f.read().splitlines()
    for index, line in enumerate(lines):
        if line.startswith(":25:"):
            account = line[4:].strip()
        elif line.startswith((":60F:", ":60M:")):
            currency = line[12:15]
        elif line.startswith(":61:"):
            m = MT940_61.match(line)
            if not m:
                raise SystemExit(f"{relative}:{index + 1}: cannot read {line!r}")
            value_date, entry_date, mark, _, amount, _, customer_ref, bank_ref = m.groups()
            day = datetime.date(2000 + int(value_date[:2]), int(value_date[2:4]), int(value_date[4:6]))
            if entry_date:  # the booking date (MMDD), in the value date's year or next to it
                booked = day.replace(month=int(entry_date[:2]), day=int(entry_date[2:]))
                if (booked - day).days > 180:
                    booked = booked.replace(year=booked.year - 1)
                elif (day - booked).days > 180:
                    booked = booked.replace(year=booked.year + 1)
                day = booked
            amount_minor = minor(amount) * (1 if mark.endswith("C") else -1)
            details = []
            for following in lines[index + 1 :]:
                if following.startswith(":86:"):
                    details.append(following[4:])
                elif details and not following.startswith(":") and following != "-":
                    details.append(following)
                else:
                    break
            ref = (bank_ref or customer_ref or "").strip()
            text = " ".join([ref] + details)
            entries.append(entry(account, currency, amount_minor, day, text, ref, relative, index + 1))
    return entries


def read_profile_csv(path, relative, profile):
    """A payment tool's CSV through a statement profile ([source], [columns])."""
    source, columns = profile.get("source", {}), profile["columns"]
    entries = []
    with open(path, newline="", encoding=source.get("encoding", "utf-8")) as f:
        reader = csv.DictReader(f, delimiter=source.get("delimiter", ","))
        for number, row in enumerate(reader, start=2):
            original = None
            if columns.get("original_amount") and row.get(columns["original_amount"], "").strip():
                original = (minor(row[columns["original_amount"]]), row[columns["original_currency"]].strip())
            ref = row.get(columns.get("entry_ref", ""), "").strip()
            texts = [ref] + [row.get(columns[k], "").strip() for k in ("counterparty", "description") if k in columns]
            entries.append(
                entry(
                    source.get("account", os.path.basename(path)),
                    row[columns["currency"]].strip(),
                    minor(row[columns["amount"]]),
                    datetime.date.fromisoformat(row[columns["booking_date"]].strip()[:10]),
                    " ".join(t for t in texts if t),
                    ref,
                    relative,
                    number,
                    original,
                )
            )
    return entries


# tieout's built-in `payoneer` profile, as the demo's us-payoneer.csv is written in it.
PAYONEER = {
    "source": {"account": "payoneer", "delimiter": ","},
    "columns": {
        "booking_date": "Date",
        "description": "Description",
        "amount": "Amount",
        "currency": "Currency",
        "entry_ref": "Transaction ID",
    },
}


def read_alipay(path, relative):
    """Alipay 账务明细 (GBK): `#` preamble and footer, then income / expense columns."""
    with open(path, encoding="gbk") as f:
        lines = f.read().splitlines()
    account = ""
    entries = []
    header = None
    for number, line in enumerate(lines, start=1):
        if line.startswith("#"):
            m = re.search(r"账号：\[(\d+)\]", line)
            if m:
                account = m.group(1)
            continue
        fields = [field.strip() for field in next(csv.reader([line]))]
        if header is None:
            header = fields
            continue
        row = dict(zip(header, fields))
        income, expense = row.get("收入金额（+元）", ""), row.get("支出金额（-元）", "")
        amount = minor(income) if income else -minor(expense)
        ref = row["账务流水号"]
        text = " ".join(t for t in (ref, row.get("对方账号", ""), row.get("商品名称", ""), row.get("备注", "")) if t)
        day = datetime.date.fromisoformat(row["发生时间"][:10])
        entries.append(entry(account, "CNY", amount, day, text, ref, relative, number))
    return entries


def profile_for(directory, name):
    """The statement profile in DIR/bank whose source name is part of the file's name."""
    for path in glob.glob(os.path.join(directory, "bank", "*-profile.toml")):
        with open(path, "rb") as f:
            profile = tomllib.load(f)
        if profile.get("source", {}).get("name", "\0") in name:
            return profile
    raise SystemExit(f"{name}: no statement profile in bank/ for it")


def read_statements(directory):
    """Every entry of every statement in DIR/bank, with an `id` (its position)."""
    entries = []
    for path in sorted(glob.glob(os.path.join(directory, "bank", "*"))):
        relative = os.path.relpath(path, directory).replace(os.sep, "/")
        name = os.path.basename(path)
        if name.endswith(".xml"):
            entries += read_camt(path, relative)
        elif name.endswith(".sta"):
            entries += read_mt940(path, relative)
        elif name.startswith("alipay"):
            entries += read_alipay(path, relative)
        elif "payoneer" in name:
            entries += read_profile_csv(path, relative, PAYONEER)
        elif name.endswith(".csv"):
            entries += read_profile_csv(path, relative, profile_for(directory, name))
    for index, e in enumerate(entries):
        e["id"] = index
    return entries


class Rule:
    def __init__(self, table, distinct_keys=()):
        unsupported = [k for k in ("left", "right", "right_group") if table.get(k)]
        if table.get("business_days") or unsupported or table.get("cardinality", "1:1") not in ("1:1", "n:1"):
            raise SystemExit(f"rule {table['id']}: a feature the reference does not implement")
        reference = table.get("reference")
        if reference not in (None, "contains"):
            raise SystemExit(f"rule {table['id']}: reference test {reference!r} is not implemented")
        self.id = table["id"]
        self.priority = table.get("priority", 0)
        self.keys = table.get("keys", [])
        self.distinct_keys = list(distinct_keys)
        self.tolerance_minor = table.get("tolerance_minor", {})
        self.tolerance_basis_points = table.get("tolerance_basis_points", 0)
        self.days_before = table.get("days_before", 0)
        self.days_after = table.get("days_after", 3)
        self.reference_required = reference == "contains"
        self.left_group = table.get("left_group") if table.get("cardinality") == "n:1" else None
        self.unique_only = table.get("unique_only", True)
        self.allow_conversion = table.get("allow_conversion", False)

    def absolute_tolerance(self, currency):
        return self.tolerance_minor.get(currency, self.tolerance_minor.get("*", 0))


class Rules:
    def __init__(self, path=RULES_FILE):
        with open(path, "rb") as f:
            table = tomllib.load(f)
        settings = table.get("receipts", {})
        self.on_time_days = settings.get("on_time_days", 3)
        self.missing_after_days = settings.get("missing_after_days", 7)
        self.payer_pattern = re.compile(settings.get("payer_pattern", "amazon"), re.IGNORECASE)
        pattern = settings.get("withdrawal_pattern", "")
        self.withdrawal_pattern = re.compile(pattern, re.IGNORECASE) if pattern else None
        order = lambda r: (r.priority, r.id)  # noqa: E731
        self.rules = sorted((Rule(r) for r in table.get("rule", [])), key=order)
        self.withdrawal_rules = sorted((Rule(r, ["account"]) for r in table.get("withdrawal_rule", [])), key=order)


def units(free_left, rule):
    """Left units: one record each, or (n:1) the records sharing the group key and currency."""
    if not rule.left_group:
        return [dict(item, ids=[item["id"]]) for item in free_left]
    groups = {}
    for item in free_left:
        groups.setdefault((item["keys"].get(rule.left_group, ""), item["currency"]), []).append(item)
    result = []
    for members in groups.values():
        members.sort(key=lambda i: (i["date"], i["id"]))
        unit = dict(members[0])
        unit["ids"] = sorted(m["id"] for m in members)
        unit["amount_minor"] = sum(m["amount_minor"] for m in members)
        unit["date"] = max(m["date"] for m in members)
        result.append(unit)
    return result


def tolerance(rule, currency, amount_minor):
    relative = (abs(amount_minor) * rule.tolerance_basis_points * 2 + 10_000) // 20_000  # half away from zero
    return max(rule.absolute_tolerance(currency), relative)


def run(rules, left, right, candidates_of):
    """The matching walk. `candidates_of(rule, left_units, right_items)` (the engine's part)
    returns (left unit index, right item index, score, date difference, amount difference,
    converted) for every qualifying pair. Returns (matches, unmatched left ids, unmatched
    right ids); a match is (rule id, left ids, right ids, evidence dict)."""
    used_left, used_right, matches = set(), set(), []
    for rule in rules:
        free_left = [i for i in left if i["id"] not in used_left]
        free_right = [i for i in right if i["id"] not in used_right]
        if not free_left or not free_right:
            continue
        left_units = units(free_left, rule)
        by_unit = {}
        for candidate in candidates_of(rule, left_units, free_right):
            by_unit.setdefault(candidate[0], []).append(candidate)
        taken = set()
        order = sorted(range(len(left_units)), key=lambda u: (left_units[u]["date"], left_units[u]["amount_minor"], left_units[u]["ids"]))
        for u in order:
            candidates = [c for c in by_unit.get(u, []) if c[1] not in taken]
            if not candidates or (len(candidates) > 1 and rule.unique_only):
                continue
            candidates.sort(key=lambda c: (-c[2], abs(c[3]), abs(c[4]), free_right[c[1]]["id"]))
            _, r, score, date_difference, amount_difference, converted = candidates[0]
            taken.add(r)
            used_left.update(left_units[u]["ids"])
            used_right.add(free_right[r]["id"])
            evidence = {"date_difference": date_difference, "amount_difference": amount_difference, "converted": converted}
            matches.append((rule.id, left_units[u]["ids"], [free_right[r]["id"]], evidence))
    return (
        matches,
        [i["id"] for i in left if i["id"] not in used_left],
        [i["id"] for i in right if i["id"] not in used_right],
    )


def reconcile(payouts, entries, rules, as_of, candidates_of):
    """payouts: dicts with settlement_id, store, currency, amount_minor, date. Returns result
    rows: kind, id, status, rule, receipt_file, receipt_line."""
    by_id = {e["id"]: e for e in entries}
    credits = [e for e in entries if e["amount_minor"] > 0]
    results = []

    def right_items(items):
        return [dict(e, keys={"account": e["account"]}, reference="") for e in items]

    def status_of(evidence):
        if evidence["converted"]:
            return "received_converted"
        if evidence["amount_difference"] < 0:
            return "received_short"
        if evidence["date_difference"] > rules.on_time_days:
            return "received_late"
        return "received"

    def add_matches(kind, matches, name_of):
        for rule_id, left_ids, right_ids, evidence in matches:
            receipt = by_id[right_ids[0]]
            for left_id in left_ids:
                results.append((kind, name_of(left_id), status_of(evidence), rule_id, receipt["file"], receipt["line"]))

    # Pass 1: withdrawals → credits of other accounts.
    taken = set()
    if rules.withdrawal_pattern:
        withdrawals = [e for e in entries if e["amount_minor"] < 0 and rules.withdrawal_pattern.search(e["text"])]
        left = [dict(w, amount_minor=-w["amount_minor"], keys={"account": w["account"]}, reference="") for w in withdrawals]
        matches, unmatched, _ = run(rules.withdrawal_rules, left, right_items(credits), candidates_of)
        add_matches("withdrawal", matches, lambda i: by_id[i]["ref"])
        for _, _, right_ids, _ in matches:
            taken.update(right_ids)
        seen_until = {}
        for e in entries:
            key = (e["account"], e["currency"])
            seen_until[key] = max(seen_until.get(key, e["date"]), e["date"])
        for i in unmatched:
            w = by_id[i]
            due = w["date"] + datetime.timedelta(days=max(rules.missing_after_days, 0))
            covered = any(a != w["account"] and c == w["currency"] and until >= due for (a, c), until in seen_until.items())
            results.append(("withdrawal", w["ref"], "missing" if as_of > due and covered else "pending", "", "", ""))

    # Pass 2: payouts → the credits no withdrawal took.
    free = [e for e in credits if e["id"] not in taken]
    left = [
        {
            "id": p["settlement_id"],
            "amount_minor": p["amount_minor"],
            "currency": p["currency"],
            "date": p["date"],
            "reference": str(p["settlement_id"]),
            "keys": {"deposit_date": p["date"].isoformat(), "store": p["store"]},
        }
        for p in payouts
        if p["amount_minor"] > 0
    ]
    matches, unmatched, unmatched_right = run(rules.rules, left, right_items(free), candidates_of)
    add_matches("payout", matches, str)
    for settlement_id in unmatched:
        payout = next(p for p in left if p["id"] == settlement_id)
        due = payout["date"] + datetime.timedelta(days=max(rules.missing_after_days, 0))
        results.append(("payout", str(settlement_id), "missing" if as_of > due else "pending", "", "", ""))
    for i in unmatched_right:
        receipt = by_id[i]
        if rules.payer_pattern.search(receipt["text"]):
            results.append(("receipt", receipt["ref"], "unexpected_receipt", "", receipt["file"], receipt["line"]))
    return results


def score(rule, tolerance_minor, amount_difference, date_difference, reference_agreed):
    """The engine's score, for engines that compute it row by row (pandas)."""
    amount_penalty = 0 if tolerance_minor == 0 else abs(amount_difference) * 40 // tolerance_minor
    window = max(rule.days_before + rule.days_after, 1)
    date_penalty = min(abs(date_difference) * 40 // window, 40)
    return max(100 - amount_penalty - date_penalty - (0 if reference_agreed else 20), 0)


def write_results(path, results):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["kind", "id", "status", "rule", "receipt_file", "receipt_line"])
        writer.writerows(sorted(results, key=lambda r: (r[0], r[1])))


def check_against_truth(directory, result_file):
    """Compares a receipts result with receipts-truth.csv: each payout's, withdrawal's and
    unexpected receipt's status, and the file and line of the credit it was matched to."""
    with open(os.path.join(directory, "receipts-truth.csv"), newline="") as f:
        truth = {(r["kind"], r["id"]): r for r in csv.DictReader(f)}
    with open(result_file, newline="") as f:
        got = {(r["kind"], r["id"]): r for r in csv.DictReader(f)}
    disagreements = []
    counts = {}
    for key, expected in truth.items():
        counts[(key[0], expected["status"])] = counts.get((key[0], expected["status"]), 0) + 1
        row = got.pop(key, None)
        if row is None:
            disagreements.append(f"{key[0]} {key[1]}: missing from the result, truth {expected['status']}")
        elif (row["status"], row["receipt_file"], row["receipt_line"]) != (
            expected["status"],
            expected["receipt_file"],
            expected["receipt_line"],
        ):
            disagreements.append(
                f"{key[0]} {key[1]}: result {row['status']} {row['receipt_file']}:{row['receipt_line']} ({row['rule']}),"
                f" truth {expected['status']} {expected['receipt_file']}:{expected['receipt_line']}"
            )
    for key, row in got.items():
        disagreements.append(f"{key[0]} {key[1]}: result {row['status']}, not in the truth")
    print(f"check {result_file} against receipts-truth.csv: {len(truth)} rows")
    for (kind, status), n in sorted(counts.items()):
        print(f"  {kind:<11} {status:<20} {n:>4}")
    for line in disagreements[:20]:
        print(f"  DISAGREES {line}")
    print(f"receipt_disagreements={len(disagreements)}")
    return len(disagreements)
