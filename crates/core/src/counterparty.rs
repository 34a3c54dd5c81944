//! Statements with counterparties (往来对账单): receivable statements for customers and
//! distributors a seller invoices, payable statements for suppliers and dropship partners
//! it pays. Pure rules: document types and their signs, the statement lifecycle and who
//! may move it, payments applied first in first out, line-by-line matching against the
//! counterparty's own statement, and write-off limits.
//!
//! # Amounts
//! A statement's amounts are what the counterparty owes us (receivable) or what we owe
//! them (payable), in minor units of one currency: an invoice or a purchase raises it, a
//! refund, discount, return or payment lowers it. Documents are written with positive
//! amounts; the type gives the sign.
//!
//! # A statement
//! `due` = the charges dated in its period (invoices, refunds, discounts — every document
//! but payments). `opening` is what earlier statements of the same counterparty and side
//! still have unpaid when it is drawn up (brought forward, shown, not part of `due`), so
//! the counterparty sees everything it owes: opening + due. Payments dated on or after a
//! statement's period start are applied to the counterparty's reviewed statements oldest
//! first; a statement whose applied payments reach its `due` is settled.

use chrono::NaiveDate;

use crate::money::Currency;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The counterparty owes us (a customer, a distributor).
    Receivable,
    /// We owe the counterparty (a supplier, a dropship partner).
    Payable,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Receivable => "receivable",
            Side::Payable => "payable",
        }
    }

    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "receivable" => Some(Side::Receivable),
            "payable" => Some(Side::Payable),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocType {
    /// A sales invoice or order billed to a customer.
    Invoice,
    /// A refund or credit note to a customer.
    Refund,
    /// A discount or rebate granted to a customer.
    Discount,
    /// A payment received from a customer.
    Receipt,
    /// A purchase order or supplier invoice.
    Purchase,
    /// Goods returned to a supplier, or its credit note.
    PurchaseReturn,
    /// A discount or rebate a supplier granted.
    PurchaseDiscount,
    /// A payment made to a supplier.
    Payment,
}

impl DocType {
    pub const ALL: [DocType; 8] = [
        DocType::Invoice,
        DocType::Refund,
        DocType::Discount,
        DocType::Receipt,
        DocType::Purchase,
        DocType::PurchaseReturn,
        DocType::PurchaseDiscount,
        DocType::Payment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DocType::Invoice => "invoice",
            DocType::Refund => "refund",
            DocType::Discount => "discount",
            DocType::Receipt => "receipt",
            DocType::Purchase => "purchase",
            DocType::PurchaseReturn => "purchase_return",
            DocType::PurchaseDiscount => "purchase_discount",
            DocType::Payment => "payment",
        }
    }

    /// The type by its name or a common Chinese name (发票, 退款, 折扣, 收款, 采购, 退货,
    /// 采购折扣, 付款).
    pub fn parse(text: &str) -> Option<DocType> {
        let text = text.trim();
        let lower = text.to_lowercase();
        DocType::ALL.into_iter().find(|t| t.name() == lower).or(match text {
            "发票" | "销售" | "订单" => Some(DocType::Invoice),
            "退款" | "红字发票" => Some(DocType::Refund),
            "折扣" | "返利" => Some(DocType::Discount),
            "收款" => Some(DocType::Receipt),
            "采购" | "采购单" | "供应商发票" => Some(DocType::Purchase),
            "退货" => Some(DocType::PurchaseReturn),
            "采购折扣" => Some(DocType::PurchaseDiscount),
            "付款" => Some(DocType::Payment),
            _ => None,
        })
    }

    pub fn side(self) -> Side {
        match self {
            DocType::Invoice | DocType::Refund | DocType::Discount | DocType::Receipt => Side::Receivable,
            _ => Side::Payable,
        }
    }

    /// +1 when the document raises what is owed, −1 when it lowers it.
    pub fn sign(self) -> i64 {
        match self {
            DocType::Invoice | DocType::Purchase => 1,
            _ => -1,
        }
    }

    pub fn is_payment(self) -> bool {
        matches!(self, DocType::Receipt | DocType::Payment)
    }
}

/// One document as an export lists it, with its line in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub line: u32,
    pub counterparty: String,
    pub counterparty_name: Option<String>,
    pub doc_type: DocType,
    pub number: String,
    pub date: NaiveDate,
    /// Positive minor units (the type gives the direction).
    pub amount_minor: i64,
    pub currency: Currency,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Draft,
    /// Locked: its lines can no longer change.
    PendingReview,
    Reviewed,
    PartiallyPaid,
    Settled,
    Closed,
    Void,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Draft,
        State::PendingReview,
        State::Reviewed,
        State::PartiallyPaid,
        State::Settled,
        State::Closed,
        State::Void,
    ];

    pub fn name(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::PendingReview => "pending_review",
            State::Reviewed => "reviewed",
            State::PartiallyPaid => "partially_paid",
            State::Settled => "settled",
            State::Closed => "closed",
            State::Void => "void",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.name() == text)
    }

    /// Lines may change only in a draft.
    pub fn lines_locked(self) -> bool {
        self != State::Draft
    }

    /// Payments are applied to reviewed statements not yet paid in full.
    pub fn takes_payments(self) -> bool {
        matches!(self, State::Reviewed | State::PartiallyPaid)
    }
}

/// What a person must be allowed to do to make a transition (the service maps roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Prepare statements: submit a draft for review.
    Prepare,
    /// Review: accept a statement, or send it back to draft.
    Review,
    /// Sign off: close a settled statement, void one.
    SignOff,
}

/// The transitions a person may make, and the permission each needs. Partially paid and
/// settled are reached by payments only ([`state_after_payments`]), never by hand.
pub const TRANSITIONS: [(State, State, Permission); 9] = [
    (State::Draft, State::PendingReview, Permission::Prepare),
    (State::PendingReview, State::Draft, Permission::Review),
    (State::PendingReview, State::Reviewed, Permission::Review),
    (State::Settled, State::Closed, Permission::SignOff),
    (State::Draft, State::Void, Permission::SignOff),
    (State::PendingReview, State::Void, Permission::SignOff),
    (State::Reviewed, State::Void, Permission::SignOff),
    (State::PartiallyPaid, State::Void, Permission::SignOff),
    (State::Settled, State::Void, Permission::SignOff),
];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a statement cannot go from {} to {}", .0.name(), .1.name())]
    NotAllowed(State, State),
    #[error("going from {} to {} happens by payments, not by hand", .0.name(), .1.name())]
    ByPaymentsOnly(State, State),
}

/// The permission a transition needs, or why there is none.
pub fn transition(from: State, to: State) -> Result<Permission, TransitionError> {
    if from == to {
        return Err(TransitionError::NotAllowed(from, to));
    }
    if matches!(to, State::PartiallyPaid | State::Settled) {
        return Err(TransitionError::ByPaymentsOnly(from, to));
    }
    TRANSITIONS
        .iter()
        .find(|(f, t, _)| *f == from && *t == to)
        .map(|(_, _, permission)| *permission)
        .ok_or(TransitionError::NotAllowed(from, to))
}

/// The state of a reviewed statement once `paid_minor` of its `due_minor` is paid.
pub fn state_after_payments(state: State, due_minor: i64, paid_minor: i64) -> State {
    if !state.takes_payments() {
        return state;
    }
    if paid_minor >= due_minor {
        State::Settled
    } else if paid_minor > 0 {
        State::PartiallyPaid
    } else {
        State::Reviewed
    }
}

/// A statement that can take payments, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payable {
    pub statement_id: i64,
    pub due_minor: i64,
    pub paid_minor: i64,
}

/// How much of a payment went to which statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub statement_id: i64,
    pub payment_index: usize,
    pub amount_minor: i64,
}

/// Applies payments (positive minor units, in order) to statements oldest first; what a
/// payment leaves after every statement is paid in full stays unapplied (returned).
pub fn apply_payments(statements: &mut [Payable], payments: &[i64]) -> (Vec<Application>, Vec<i64>) {
    let mut applications = Vec::new();
    let mut unapplied = Vec::new();
    for (index, payment) in payments.iter().enumerate() {
        let mut left = *payment;
        for statement in statements.iter_mut() {
            if left <= 0 {
                break;
            }
            let open = statement.due_minor - statement.paid_minor;
            if open <= 0 {
                continue;
            }
            let amount = left.min(open);
            statement.paid_minor += amount;
            left -= amount;
            applications.push(Application {
                statement_id: statement.statement_id,
                payment_index: index,
                amount_minor: amount,
            });
        }
        unapplied.push(left.max(0));
    }
    (applications, unapplied)
}

/// One line of a statement as either side lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: String,
    pub amount_minor: i64,
}

/// A difference between our statement and the counterparty's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineDifference {
    /// On our statement only (index into ours).
    OursOnly { ours: usize },
    /// On theirs only (index into theirs).
    TheirsOnly { theirs: usize },
    /// The same document number, different amounts.
    Amount { ours: usize, theirs: usize, difference_minor: i64 },
}

impl LineDifference {
    /// Ours minus theirs.
    pub fn amount_minor(&self, ours: &[Line], theirs: &[Line]) -> i64 {
        match self {
            LineDifference::OursOnly { ours: i } => ours[*i].amount_minor,
            LineDifference::TheirsOnly { theirs: i } => -theirs[*i].amount_minor,
            LineDifference::Amount { difference_minor, .. } => *difference_minor,
        }
    }
}

/// Matches lines by document number (trimmed, case-insensitive), each line once; the rest
/// are differences. Lines with equal numbers pair in order.
pub fn match_lines(ours: &[Line], theirs: &[Line]) -> Vec<LineDifference> {
    use std::collections::HashMap;
    let key = |line: &Line| line.number.trim().to_lowercase();
    let mut waiting: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, line) in theirs.iter().enumerate().rev() {
        waiting.entry(key(line)).or_default().push(index);
    }
    let mut differences = Vec::new();
    let mut matched = vec![false; theirs.len()];
    for (index, line) in ours.iter().enumerate() {
        match waiting.get_mut(&key(line)).and_then(Vec::pop) {
            Some(other) => {
                matched[other] = true;
                let difference = line.amount_minor - theirs[other].amount_minor;
                if difference != 0 {
                    differences.push(LineDifference::Amount {
                        ours: index,
                        theirs: other,
                        difference_minor: difference,
                    });
                }
            }
            None => differences.push(LineDifference::OursOnly { ours: index }),
        }
    }
    differences.extend(
        matched.iter().enumerate().filter(|(_, m)| !**m).map(|(i, _)| LineDifference::TheirsOnly { theirs: i }),
    );
    differences
}

/// Whether writing off `amount_minor` (either sign) is within `limit_minor` (inclusive;
/// `None`: no write-offs at all).
pub fn write_off_allowed(limit_minor: Option<i64>, amount_minor: i64) -> bool {
    limit_minor.is_some_and(|limit| amount_minor.unsigned_abs() <= limit.max(0).unsigned_abs())
}

/// A write-off limit by currency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub by_currency: Vec<(Currency, i64)>,
}

impl Limits {
    pub fn of(&self, currency: Currency) -> Option<i64> {
        self.by_currency.iter().find(|(c, _)| *c == currency).map(|(_, limit)| *limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_transitions_are_allowed_and_payments_move_the_rest() {
        for from in State::ALL {
            for to in State::ALL {
                let listed = TRANSITIONS.iter().any(|(f, t, _)| *f == from && *t == to && f != t);
                assert_eq!(transition(from, to).is_ok(), listed, "{from:?} → {to:?}");
            }
        }
        assert_eq!(transition(State::Draft, State::PendingReview), Ok(Permission::Prepare));
        assert_eq!(transition(State::PendingReview, State::Reviewed), Ok(Permission::Review));
        assert_eq!(transition(State::Settled, State::Closed), Ok(Permission::SignOff));
        assert!(matches!(transition(State::Reviewed, State::Settled), Err(TransitionError::ByPaymentsOnly(..))));
        assert!(transition(State::Closed, State::Void).is_err(), "nothing after closed");
        assert_eq!(state_after_payments(State::Reviewed, 1000, 1), State::PartiallyPaid);
        assert_eq!(state_after_payments(State::PartiallyPaid, 1000, 1000), State::Settled);
        assert_eq!(state_after_payments(State::Draft, 1000, 1000), State::Draft, "a draft takes no payment");
    }

    #[test]
    fn payments_pay_the_oldest_statement_first_and_keep_what_is_left() {
        let mut statements = vec![
            Payable { statement_id: 1, due_minor: 1000, paid_minor: 400 },
            Payable { statement_id: 2, due_minor: 500, paid_minor: 0 },
        ];
        let (applications, unapplied) = apply_payments(&mut statements, &[700, 500]);
        assert_eq!(
            applications,
            vec![
                Application { statement_id: 1, payment_index: 0, amount_minor: 600 },
                Application { statement_id: 2, payment_index: 0, amount_minor: 100 },
                Application { statement_id: 2, payment_index: 1, amount_minor: 400 },
            ]
        );
        assert_eq!(unapplied, vec![0, 100]);
        assert_eq!(statements.iter().map(|s| s.paid_minor).collect::<Vec<_>>(), [1000, 500]);
    }

    #[test]
    fn lines_match_by_number_and_the_rest_are_differences() {
        let line = |n: &str, a: i64| Line { number: n.to_owned(), amount_minor: a };
        let ours = [line("INV-1", 1000), line("INV-2", 500), line("INV-3", 70)];
        let theirs = [line("inv-2", 450), line(" INV-1", 1000), line("INV-9", 30)];
        let differences = match_lines(&ours, &theirs);
        assert_eq!(
            differences,
            vec![
                LineDifference::Amount { ours: 1, theirs: 0, difference_minor: 50 },
                LineDifference::OursOnly { ours: 2 },
                LineDifference::TheirsOnly { theirs: 2 },
            ]
        );
        let amounts: Vec<i64> = differences.iter().map(|d| d.amount_minor(&ours, &theirs)).collect();
        assert_eq!(amounts, [50, 70, -30]);
    }

    #[test]
    fn a_write_off_at_the_limit_is_allowed_and_one_cent_over_is_not() {
        assert!(write_off_allowed(Some(1000), 1000));
        assert!(write_off_allowed(Some(1000), -1000));
        assert!(!write_off_allowed(Some(1000), 1001));
        assert!(!write_off_allowed(Some(1000), -1001));
        assert!(!write_off_allowed(None, 1));
    }

    #[test]
    fn document_types_have_a_side_and_a_sign() {
        assert_eq!(DocType::parse("发票"), Some(DocType::Invoice));
        assert_eq!(DocType::parse("Purchase_Return"), Some(DocType::PurchaseReturn));
        assert_eq!(DocType::Invoice.side(), Side::Receivable);
        assert_eq!(DocType::Payment.side(), Side::Payable);
        assert_eq!(DocType::Invoice.sign(), 1);
        assert_eq!(DocType::Receipt.sign(), -1);
        assert!(DocType::Receipt.is_payment());
    }
}
