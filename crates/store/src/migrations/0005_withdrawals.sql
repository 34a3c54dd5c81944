-- tieout schema, version 5: withdrawals (payment tool → bank) are reconciled like payouts.
-- A result about a withdrawal links the withdrawal's statement entry (the debit) here;
-- its bank credit is linked as a receipt (statement_entry_id), as for a payout.
ALTER TABLE receipt_result_link ADD COLUMN withdrawal_entry_id INTEGER;

-- Statements without their own reference (tabular exports of payment tools and wallets)
-- are exported again with overlapping periods: an entry whose reference is already stored
-- for the same account is not added again. This index finds it.
CREATE INDEX statement_entry_by_ref ON statement_entry (entry_ref);

-- The last file a run saw: files imported after it make its results out of date.
ALTER TABLE reconcile_run ADD COLUMN last_file_id INTEGER;
