-- +goose Up
-- The last event sequence retention has pruned through, always the end of a cycle; every read of events ignores
-- the sequences up to it. PostgreSQL needs it because it drops whole days of events, and a cycle just after
-- midnight has events on both sides (migrations/postgres/00015_day_partitions.sql); SQLite still deletes events
-- by whole cycles and records the same watermark, so both dialects read events the same way. One row.
CREATE TABLE event_retention (pruned_through BIGINT NOT NULL);
INSERT INTO event_retention (pruned_through) VALUES (0);

-- +goose Down
DROP TABLE event_retention;
