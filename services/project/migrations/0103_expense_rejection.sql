-- rejectExpenses (DESIGN.md §9): a SUBMITTED expense may be REJECTED with a reason.
ALTER TABLE expenses DROP CONSTRAINT expenses_status_check;
ALTER TABLE expenses ADD CONSTRAINT expenses_status_check
    CHECK (status IN ('SUBMITTED', 'APPROVED', 'REJECTED'));
ALTER TABLE expenses ADD COLUMN rejection_reason text;
ALTER TABLE expenses ADD COLUMN rejected_at timestamptz;
ALTER TABLE expenses ADD CONSTRAINT expenses_rejection_has_a_reason
    CHECK ((status = 'REJECTED') = (rejection_reason IS NOT NULL AND rejected_at IS NOT NULL));
