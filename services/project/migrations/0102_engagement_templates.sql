-- Engagement templates (DESIGN.md §9): terms that fill what a won deal leaves out. The rate
-- card and the milestone plan are small lists read and written whole: JSON arrays of
-- {role, bill_rate, cost_rate} and {name, percent, due_days_after_start} (decimals as strings).
CREATE TABLE engagement_templates (
    code                   text        PRIMARY KEY,
    name                   text        NOT NULL,
    billing_model          text        NOT NULL
        CHECK (billing_model IN ('TIME_AND_MATERIALS', 'FIXED_FEE', 'MILESTONE')),
    rate_card              jsonb       NOT NULL,
    milestone_plan         jsonb       NOT NULL,
    payment_terms_days     integer     NOT NULL,
    expense_markup_percent numeric     NOT NULL,
    updated_at             timestamptz NOT NULL
);
