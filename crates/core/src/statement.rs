//! Statements of money actually received: bank statements (camt.053, MT940, bank CSV) and
//! payment-tool / wallet bills (Payoneer, PingPong, LianLian, Airwallex, Alipay, WeChat
//! Pay). Readers in `tieout-formats` produce these; the payout ↔ receipt reconciliation
//! (issue 3) matches settlement deposits against their credit entries.
//!
//! A statement carries its opening and closing balances when the source states them; the
//! entries must roll the opening to the closing balance. A statement that does not (a
//! partial export, a missing page) is still imported, marked with its difference and
//! reported — like an inconsistent settlement.

use chrono::NaiveDate;

use crate::diag::Diagnostic;
use crate::money::{Currency, Money};

/// One statement: one account (and currency) over one period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement's own identifier (camt `Stmt/Id`, MT940 `:20:` + `:28C:`); for a
    /// bill without one, empty (the file identifies it).
    pub statement_ref: String,
    /// IBAN, account number, or the payment tool's account / wallet id; may be empty.
    pub account: String,
    pub currency: Currency,
    /// 1-based line of the statement's start in its file.
    pub line: u32,
    pub opening_minor: Option<i64>,
    pub opening_date: Option<NaiveDate>,
    pub closing_minor: Option<i64>,
    pub closing_date: Option<NaiveDate>,
    /// Sum of this statement's booked entries (computed by the reader).
    pub entries_sum_minor: i64,
    pub entry_count: u32,
}

impl Statement {
    /// `closing − (opening + entries)`, when both balances are stated; non-zero means the
    /// entries do not roll the opening balance to the closing one.
    pub fn balance_difference_minor(&self) -> Option<i64> {
        Some(self.closing_minor? - (self.opening_minor? + self.entries_sum_minor))
    }
}

/// One booked line of a statement: money in (positive) or out (negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementEntry {
    /// Index of its statement in [`StatementFile::statements`].
    pub statement: u32,
    /// 1-based line in the file (for XML, the line where the entry element starts).
    pub line: u32,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Signed, in the statement's currency: credits positive, debits negative.
    pub amount_minor: i64,
    pub currency: Currency,
    /// The statement's own identifier of this line (camt `AcctSvcrRef`, MT940 bank
    /// reference after `//`, Alipay 账务流水号, WeChat 微信支付单号); empty when it has none.
    pub entry_ref: String,
    /// The payer's or platform's reference (camt `EndToEndId`, SEPA `EREF+`, 商户订单号 …).
    pub reference: String,
    pub counterparty: String,
    /// Free text: remittance information, `:86:`, 备注; several parts joined by a space.
    pub description: String,
    /// The amount before a currency conversion, when the source states it (payment tools,
    /// camt `AmtDtls/InstdAmt`).
    pub original_amount: Option<Money>,
    /// A fee the source states separately for this line (positive = charged).
    pub fee_minor: Option<i64>,
    /// A reversal of an earlier entry (camt `RvslInd`, MT940 `RC`/`RD`).
    pub reversal: bool,
}

/// What a reader of statements returns.
#[derive(Clone, Debug, Default)]
pub struct StatementFile {
    pub statements: Vec<Statement>,
    pub entries: Vec<StatementEntry>,
    pub diagnostics: Vec<Diagnostic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_difference() {
        let mut statement = Statement {
            statement_ref: "S1".into(),
            account: "NL69INGB0123456789".into(),
            currency: Currency::EUR,
            line: 1,
            opening_minor: Some(10_000),
            opening_date: None,
            closing_minor: Some(12_500),
            closing_date: None,
            entries_sum_minor: 2_500,
            entry_count: 2,
        };
        assert_eq!(statement.balance_difference_minor(), Some(0));
        statement.entries_sum_minor = 2_000;
        assert_eq!(statement.balance_difference_minor(), Some(500));
        statement.opening_minor = None;
        assert_eq!(statement.balance_difference_minor(), None);
    }
}
