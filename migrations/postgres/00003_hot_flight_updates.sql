-- +goose Up
-- Every cycle rewrites each online flight's row (position, last_seen). With no index on a column that changes
-- every cycle, and free room left in each page, PostgreSQL updates the row in place (a HOT update): no new
-- entry in any of the table's indexes. The last_seen index defeated that for all of them, and no query needs
-- it: offline flights are found through disconnected_at, which is written once.
DROP INDEX flights_last_seen;
CREATE INDEX flights_disconnected_at ON flights (disconnected_at) WHERE disconnected_at IS NOT NULL;
ALTER TABLE flights SET (fillfactor = 70);

-- +goose Down
ALTER TABLE flights RESET (fillfactor);
DROP INDEX flights_disconnected_at;
CREATE INDEX flights_last_seen ON flights (last_seen);
