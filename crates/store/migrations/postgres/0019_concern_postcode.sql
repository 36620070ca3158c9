-- The postcode written in a concern's "where did it happen" text, read when the concern is
-- raised (mace_domain::postcode::find_in), so concerns can be placed on the hotspot map
-- through postcode_points. Empty when the text names no full postcode.
ALTER TABLE concerns ADD COLUMN location_postcode TEXT;

CREATE INDEX concerns_location_postcode_idx ON concerns (location_postcode);
