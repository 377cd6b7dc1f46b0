-- Customers and the external references (CRM/ERP ids) that identify them.
CREATE TABLE customers (
    id              uuid        PRIMARY KEY,
    name            text        NOT NULL,
    normalized_name text        NOT NULL,
    country         char(2)     NOT NULL,
    domain          text,
    tax_id          text,
    -- A merged customer stays as an alias of its survivor; always one hop (merges repoint).
    merged_into     uuid        REFERENCES customers (id),
    version         bigint      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (merged_into IS NULL OR merged_into <> id)
);

CREATE INDEX customers_by_tax_id ON customers (tax_id, country, created_at)
    WHERE merged_into IS NULL AND tax_id IS NOT NULL;
CREATE INDEX customers_by_domain ON customers (domain, created_at)
    WHERE merged_into IS NULL AND domain IS NOT NULL;
CREATE INDEX customers_by_name ON customers (normalized_name, country, created_at)
    WHERE merged_into IS NULL;
CREATE INDEX customers_listing ON customers (normalized_name, id) WHERE merged_into IS NULL;
CREATE INDEX customers_aliases ON customers (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE external_refs (
    system      text        NOT NULL,
    external_id text        NOT NULL,
    customer_id uuid        NOT NULL REFERENCES customers (id),
    linked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (system, external_id)
);

CREATE INDEX external_refs_by_customer ON external_refs (customer_id);
