-- +goose Up
-- Hourly rollups per sector, kept by ingest in each cycle's own transaction (one upsert per cycle with the
-- absolute totals of every sector-hour the cycle touched, so rerunning a cycle writes the same numbers). hour is
-- the UTC start of the hour. A cycle's figures hold from its feed time until the next cycle's, at most two poll
-- intervals (30 s), split at hour boundaries:
--   entries, exits     the sector's entry and exit events dated in the hour (an exit of a disconnected flight
--                      is dated when it was last seen);
--   flights            distinct flights with a visit of the sector overlapping the hour (entered_at < hour end
--                      AND (exited_at IS NULL OR exited_at >= hour start));
--   peak               the most flights inside (open visits) after any one cycle dated in the hour;
--   occupancy_seconds  Σ flights inside × hold;
--   staffed_seconds    Σ hold while staffed;
--   observed_seconds   Σ hold: how much of the hour the cycles covered (the same for every sector of the hour).
-- Mean occupancy is occupancy_seconds / 3600 and the staffed fraction staffed_seconds / 3600: an outage (no
-- cycles, so no holds) lowers them instead of being averaged away; observed_seconds / 3600 says how much of the
-- hour was seen at all.
CREATE TABLE sector_hours (
    sector_set        TEXT NOT NULL,
    sector_id         TEXT NOT NULL,
    hour              TIMESTAMPTZ NOT NULL,
    entries           INTEGER NOT NULL,
    exits             INTEGER NOT NULL,
    flights           INTEGER NOT NULL,
    peak              INTEGER NOT NULL,
    occupancy_seconds DOUBLE PRECISION NOT NULL,
    staffed_seconds   DOUBLE PRECISION NOT NULL,
    observed_seconds  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sector_set, sector_id, hour)
);
-- Every sector of a set over a range (ListSectorTraffic), restart (the last hours of every sector) and
-- retention (hours before a time) read by hour first.
CREATE INDEX sector_hours_hour ON sector_hours (hour);
-- The visits of a sector overlapping a range (entered_at < end AND (exited_at IS NULL OR exited_at >= start)):
-- the distinct flights of a day or a range, and of the hours a restart rebuilds. Bounded by exited_at, the scan
-- reads the sector's visits open or ended since the start, however long its history before.
CREATE INDEX sector_visits_sector_exited ON sector_visits (sector_set, sector_id, exited_at);

-- +goose Down
DROP INDEX sector_visits_sector_exited;
DROP TABLE sector_hours;
