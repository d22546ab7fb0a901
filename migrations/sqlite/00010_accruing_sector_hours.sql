-- +goose Up
-- A sector-hour's time-weighted figures accrue instead of being rewritten every cycle; the PostgreSQL migration
-- of the same number says why and what each column holds.
CREATE TABLE observed_hours (
    hour             DATETIME PRIMARY KEY,
    observed_seconds REAL NOT NULL
);
INSERT INTO observed_hours (hour, observed_seconds)
    SELECT hour, MAX(observed_seconds) FROM sector_hours GROUP BY hour;
ALTER TABLE sector_hours RENAME COLUMN observed_seconds TO as_of_seconds;
ALTER TABLE sector_hours ADD COLUMN occupants INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sector_hours ADD COLUMN staffed BOOLEAN NOT NULL DEFAULT false;

-- +goose Down
-- Each row as of its hour's observed time, in whole microseconds as ingest keeps them.
UPDATE sector_hours SET
    occupancy_seconds = ROUND((occupancy_seconds + occupants * ((SELECT o.observed_seconds FROM observed_hours o WHERE o.hour = sector_hours.hour) - as_of_seconds)) * 1000000) / 1000000.0,
    staffed_seconds = ROUND((staffed_seconds + CASE WHEN staffed THEN (SELECT o.observed_seconds FROM observed_hours o WHERE o.hour = sector_hours.hour) - as_of_seconds ELSE 0 END) * 1000000) / 1000000.0,
    as_of_seconds = (SELECT o.observed_seconds FROM observed_hours o WHERE o.hour = sector_hours.hour)
    WHERE EXISTS (SELECT 1 FROM observed_hours o WHERE o.hour = sector_hours.hour);
ALTER TABLE sector_hours DROP COLUMN staffed;
ALTER TABLE sector_hours DROP COLUMN occupants;
ALTER TABLE sector_hours RENAME COLUMN as_of_seconds TO observed_seconds;
DROP TABLE observed_hours;
