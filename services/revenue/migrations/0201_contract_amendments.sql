-- Amendments (DESIGN.md §9): the contract follows engagement.amended (contract value and
-- budget hours); terms_version keeps an older or repeated amendment from going back.
ALTER TABLE contracts ADD COLUMN terms_version integer NOT NULL DEFAULT 1;
