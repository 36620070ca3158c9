-- Full-text search over concerns and chronology notes (SQLite FTS5; keep in step with
-- ../postgres/0008_search.sql, which uses GIN indexes over to_tsvector instead). Each FTS table
-- keeps its own copy of the text with the row's id (rowids of tables without an INTEGER PRIMARY
-- KEY may change on VACUUM, so they are not used), kept current by triggers.
CREATE VIRTUAL TABLE concerns_fts USING fts5(
    id UNINDEXED, narrative, child_words, others_present, actions_taken, location,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO concerns_fts (id, narrative, child_words, others_present, actions_taken, location)
    SELECT id, narrative, child_words, others_present, actions_taken, location FROM concerns;

CREATE TRIGGER concerns_fts_insert AFTER INSERT ON concerns BEGIN
    INSERT INTO concerns_fts (id, narrative, child_words, others_present, actions_taken, location)
    VALUES (new.id, new.narrative, new.child_words, new.others_present, new.actions_taken, new.location);
END;
CREATE TRIGGER concerns_fts_delete AFTER DELETE ON concerns BEGIN
    DELETE FROM concerns_fts WHERE id = old.id;
END;
CREATE TRIGGER concerns_fts_update AFTER UPDATE OF narrative, child_words, others_present, actions_taken, location ON concerns BEGIN
    DELETE FROM concerns_fts WHERE id = old.id;
    INSERT INTO concerns_fts (id, narrative, child_words, others_present, actions_taken, location)
    VALUES (new.id, new.narrative, new.child_words, new.others_present, new.actions_taken, new.location);
END;

CREATE VIRTUAL TABLE chronology_fts USING fts5(
    id UNINDEXED, summary,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO chronology_fts (id, summary) SELECT id, summary FROM chronology;

CREATE TRIGGER chronology_fts_insert AFTER INSERT ON chronology BEGIN
    INSERT INTO chronology_fts (id, summary) VALUES (new.id, new.summary);
END;
CREATE TRIGGER chronology_fts_delete AFTER DELETE ON chronology BEGIN
    DELETE FROM chronology_fts WHERE id = old.id;
END;
CREATE TRIGGER chronology_fts_update AFTER UPDATE OF summary ON chronology BEGIN
    DELETE FROM chronology_fts WHERE id = old.id;
    INSERT INTO chronology_fts (id, summary) VALUES (new.id, new.summary);
END;
