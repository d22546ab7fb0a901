-- +goose Up
-- Sectors are identified by their set and their id: a division's own sectors reuse VATSpy FIR ids. Rows stored
-- before this have the set '' ("not known yet"): the stored ids do not say which loaded set they came from, so
-- ingest assigns each its set from the sectors loaded when it next starts (Store.AdoptSectorSets), and nothing
-- is dropped or guessed here.
ALTER TABLE sector_visits ADD COLUMN sector_set TEXT NOT NULL DEFAULT '';
ALTER TABLE sector_events ADD COLUMN sector_set TEXT NOT NULL DEFAULT '';
-- A controller's sectors become space-separated set/id tokens; a stored bare id becomes "/id": set '', the same
-- "not known yet", whatever the id holds (a custom id may hold a "/"; a "%" is escaped as the reader expects).
UPDATE controllers SET sectors = '/' || REPLACE(REPLACE(sectors, '%', '%25'), ' ', ' /') WHERE sectors <> '';

-- One open visit per flight and sector: the same id in two sets is two sectors.
DROP INDEX sector_visits_open;
CREATE UNIQUE INDEX sector_visits_open ON sector_visits (flight_id, sector_set, sector_id) WHERE exited_at IS NULL;
DROP INDEX sector_visits_sector;
CREATE INDEX sector_visits_sector ON sector_visits (sector_set, sector_id, entered_at);
DROP INDEX sector_visits_open_sector;
CREATE INDEX sector_visits_open_sector ON sector_visits (sector_set, sector_id, entered_at) WHERE exited_at IS NULL;
DROP INDEX sector_events_sector;
CREATE INDEX sector_events_sector ON sector_events (sector_set, sector_id, sequence);

-- +goose Down
DROP INDEX sector_events_sector;
CREATE INDEX sector_events_sector ON sector_events (sector_id, sequence);
DROP INDEX sector_visits_open_sector;
CREATE INDEX sector_visits_open_sector ON sector_visits (sector_id, entered_at) WHERE exited_at IS NULL;
DROP INDEX sector_visits_sector;
CREATE INDEX sector_visits_sector ON sector_visits (sector_id, entered_at);
DROP INDEX sector_visits_open;
CREATE UNIQUE INDEX sector_visits_open ON sector_visits (flight_id, sector_id) WHERE exited_at IS NULL;
UPDATE controllers SET sectors = REPLACE(SUBSTR(sectors, 2), ' /', ' ') WHERE sectors LIKE '/%';
ALTER TABLE sector_events DROP COLUMN sector_set;
ALTER TABLE sector_visits DROP COLUMN sector_set;
