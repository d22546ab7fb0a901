-- +goose Up
-- What ingest keeps in memory between cycles must be exactly what it loads back after a restart.
-- controllers.last_seen: the feed time of the last snapshot that showed the connection, set while the newest
-- committed snapshot does not show it (it is missing, within the grace period, or disconnected); NULL while the
-- newest committed snapshot shows it. Without it a restart took every missing controller to be present at the
-- last committed cycle, and stored its disconnection late or never.
ALTER TABLE controllers ADD COLUMN last_seen TIMESTAMPTZ;
-- Entries of a snapshot that were not ingested: repeated connection keys, and values no database column holds.
ALTER TABLE ingest_cycles ADD COLUMN duplicate_entries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_cycles ADD COLUMN rejected_entries INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE ingest_cycles DROP COLUMN rejected_entries;
ALTER TABLE ingest_cycles DROP COLUMN duplicate_entries;
ALTER TABLE controllers DROP COLUMN last_seen;
