-- +goose Up
-- Radio coverage of each position, from the transceivers file paired with its snapshot: on_frequency is NULL
-- when the cycle had no such file (coverage unknown, never counted as off frequency), false when no radio of
-- the pilot reached a controller position, true when it was working controller_id (package radio). Positions
-- stored before this migration have both NULL: unknown. Nullable columns without a default: adding them rewrites
-- no row on either database.
ALTER TABLE positions ADD COLUMN on_frequency BOOLEAN;
ALTER TABLE positions ADD COLUMN controller_id BIGINT;
-- The controller a flight is in contact with, carried through cycles of unknown coverage, so that a restart
-- resumes the contacts (and their events) where they were; 0 for none. A constant default adds the column
-- without rewriting the table (PostgreSQL 11 on, SQLite).
ALTER TABLE flights ADD COLUMN working_controller_id BIGINT NOT NULL DEFAULT 0;
-- A contact event names a flight and a controller: the flight in cid and callsign, as for entries and exits,
-- so that the flight filters apply; the controller in controller_id and these.
ALTER TABLE sector_events ADD COLUMN controller_cid BIGINT;
ALTER TABLE sector_events ADD COLUMN controller_callsign TEXT;
-- Whether a cycle had a transceivers file: the time a controller session's coverage is known.
ALTER TABLE ingest_cycles ADD COLUMN coverage_known BOOLEAN NOT NULL DEFAULT FALSE;
-- The positions that worked a controller, by controller and time: a session's aircraft (ListControllerSessions)
-- read from its own rows, not by scanning every position of its span. Partial: the positions working nobody,
-- most of them, cost the index nothing.
CREATE INDEX positions_controller ON positions (controller_id, observed_at) WHERE controller_id IS NOT NULL;
-- Sector-hours' radio coverage, in flight-seconds, accruing like occupancy (00010): inside while staffed (the
-- coverage offered), inside over cycles with a transceivers file, and of those in contact with a controller (the
-- coverage used); working and coverage_known are what accrues. Hours stored before have 0: their coverage is
-- unknown, and their offered time was not counted.
ALTER TABLE sector_hours ADD COLUMN staffed_occupancy_seconds DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE sector_hours ADD COLUMN known_occupancy_seconds DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE sector_hours ADD COLUMN on_frequency_seconds DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE sector_hours ADD COLUMN working INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sector_hours ADD COLUMN coverage_known BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE sector_hours DROP COLUMN coverage_known;
ALTER TABLE sector_hours DROP COLUMN working;
ALTER TABLE sector_hours DROP COLUMN on_frequency_seconds;
ALTER TABLE sector_hours DROP COLUMN known_occupancy_seconds;
ALTER TABLE sector_hours DROP COLUMN staffed_occupancy_seconds;
DROP INDEX positions_controller;
ALTER TABLE ingest_cycles DROP COLUMN coverage_known;
ALTER TABLE sector_events DROP COLUMN controller_callsign;
ALTER TABLE sector_events DROP COLUMN controller_cid;
ALTER TABLE flights DROP COLUMN working_controller_id;
ALTER TABLE positions DROP COLUMN controller_id;
ALTER TABLE positions DROP COLUMN on_frequency;
