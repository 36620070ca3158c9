-- Full-text search over concerns and chronology notes (PostgreSQL; keep in step with
-- ../sqlite/0008_search.sql, which uses FTS5). English stemming, as SQLite's porter tokenizer.
CREATE INDEX concerns_search_idx ON concerns USING gin (
    to_tsvector('english', narrative || ' ' || child_words || ' ' || others_present || ' ' || actions_taken || ' ' || location)
);
CREATE INDEX chronology_search_idx ON chronology USING gin (to_tsvector('english', summary));
