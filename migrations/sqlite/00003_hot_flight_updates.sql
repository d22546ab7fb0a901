-- +goose Up
-- Every cycle rewrites each online flight's row (position, last_seen): an index on last_seen cost an index
-- update per flight per cycle, and no query needs it. Offline flights are found through disconnected_at,
-- written once. (The PostgreSQL migration also leaves free room in pages for in-place updates; SQLite has no
-- such setting.)
DROP INDEX flights_last_seen;
CREATE INDEX flights_disconnected_at ON flights (disconnected_at) WHERE disconnected_at IS NOT NULL;

-- +goose Down
DROP INDEX flights_disconnected_at;
CREATE INDEX flights_last_seen ON flights (last_seen);
