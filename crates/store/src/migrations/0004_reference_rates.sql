-- tieout schema, version 4: conversions checked against reference rates.
ALTER TABLE receipt_result ADD COLUMN reference_rate TEXT;
ALTER TABLE receipt_result ADD COLUMN rate_within_band INTEGER;
ALTER TABLE receipt_result ADD COLUMN fx_difference_minor INTEGER;
