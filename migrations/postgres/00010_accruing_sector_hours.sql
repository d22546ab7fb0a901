-- +goose Up
-- A sector-hour's time-weighted figures accrue instead of being rewritten every cycle. Nearly every occupied
-- sector's occupancy seconds grew each cycle, so the cycle rewrote about 1,160 rows at 3,000 simulated pilots
-- when a few dozen had changed (bench, PostgreSQL: 10.4 ms of the cycle's write). A row now holds its figures as
-- of as_of_seconds of its hour observed, and what accrues from there:
--   occupants          the flights inside after the last cycle that wrote the row: each further second of the
--                      hour observed adds this many to occupancy_seconds;
--   staffed            whether the sector was staffed then: each further second observed adds one to
--                      staffed_seconds.
-- The hour's observed time, the same for every sector, has its own row in observed_hours, written once per
-- cycle. The figures of a row as of now are occupancy_seconds + occupants × (observed_seconds - as_of_seconds)
-- and staffed_seconds + staffed × (observed_seconds - as_of_seconds); the reads compute them (repository
-- rollups.go). Rows of an hour whose cycles have all been credited stay as they are.
CREATE TABLE observed_hours (
    hour             TIMESTAMPTZ PRIMARY KEY,
    observed_seconds DOUBLE PRECISION NOT NULL
);
INSERT INTO observed_hours (hour, observed_seconds)
    SELECT hour, MAX(observed_seconds) FROM sector_hours GROUP BY hour;
-- The rows stored so far are totals up to their observed_seconds and accrue nothing: ingest rewrites those of
-- the current hour at its next cycle, with what they accrue.
ALTER TABLE sector_hours RENAME COLUMN observed_seconds TO as_of_seconds;
ALTER TABLE sector_hours ADD COLUMN occupants INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sector_hours ADD COLUMN staffed BOOLEAN NOT NULL DEFAULT false;
-- A rewritten row's new version fits in its page (a HOT update: no new index entries).
ALTER TABLE sector_hours SET (fillfactor = 80);

-- +goose Down
-- Each row as of its hour's observed time, in whole microseconds as ingest keeps them.
ALTER TABLE sector_hours RESET (fillfactor);
UPDATE sector_hours sh SET
    occupancy_seconds = round((occupancy_seconds + occupants * (o.observed_seconds - as_of_seconds)) * 1000000) / 1000000,
    staffed_seconds = round((staffed_seconds + CASE WHEN staffed THEN o.observed_seconds - as_of_seconds ELSE 0 END) * 1000000) / 1000000,
    as_of_seconds = o.observed_seconds
    FROM observed_hours o WHERE o.hour = sh.hour;
ALTER TABLE sector_hours DROP COLUMN staffed;
ALTER TABLE sector_hours DROP COLUMN occupants;
ALTER TABLE sector_hours RENAME COLUMN as_of_seconds TO observed_seconds;
DROP TABLE observed_hours;
