-- adjustTime (DESIGN.md §9): an approved entry is never edited; a correction adds an approved
-- reversal (negative hours) and an approved replacement, both pointing at the entry corrected.
ALTER TABLE time_entries ADD COLUMN corrects uuid REFERENCES time_entries (id);
ALTER TABLE time_entries ADD COLUMN correction_reason text;
ALTER TABLE time_entries DROP CONSTRAINT time_entries_hours_check;
ALTER TABLE time_entries ADD CONSTRAINT time_entries_hours_check
    CHECK (hours <= 24 AND (hours > 0 OR (hours >= -24 AND hours < 0 AND corrects IS NOT NULL)));
ALTER TABLE time_entries ADD CONSTRAINT time_entries_correction_is_approved
    CHECK (corrects IS NULL OR (status = 'APPROVED' AND correction_reason IS NOT NULL));
-- An entry is reversed at most once: later corrections adjust its replacement.
CREATE UNIQUE INDEX time_entries_one_reversal ON time_entries (corrects) WHERE hours < 0;
