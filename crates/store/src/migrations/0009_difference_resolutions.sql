-- tieout schema, version 9: how a difference was resolved — accepted, adjusted (an
-- adjustment record keeping both amounts) or written off — with the amounts it concerned.
-- NULL for reopen and assign, and for resolutions recorded before version 9.
ALTER TABLE difference_action ADD COLUMN kind TEXT;
ALTER TABLE difference_action ADD COLUMN currency TEXT;
ALTER TABLE difference_action ADD COLUMN ours_minor INTEGER;
ALTER TABLE difference_action ADD COLUMN theirs_minor INTEGER;
ALTER TABLE difference_action ADD COLUMN amount_minor INTEGER;
