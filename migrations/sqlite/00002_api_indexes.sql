-- +goose Up
-- The API lists flights and controllers by callsign then id, a page at a time after a keyset position, and
-- compares callsigns bytewise (SQLite's default BINARY collation; PostgreSQL says COLLATE "C"). These indexes
-- give that order without a sort: online only, and (flights) all of them.
DROP INDEX flights_online;
CREATE INDEX flights_online ON flights (callsign, id) WHERE disconnected_at IS NULL;
CREATE INDEX flights_callsign ON flights (callsign, id);
DROP INDEX controllers_online;
CREATE INDEX controllers_online ON controllers (callsign, id) WHERE disconnected_at IS NULL;
-- Who is inside a sector now: its open visits, without reading the sector's whole visit history.
CREATE INDEX sector_visits_open_sector ON sector_visits (sector_id, entered_at) WHERE exited_at IS NULL;

-- +goose Down
DROP INDEX sector_visits_open_sector;
DROP INDEX controllers_online;
CREATE INDEX controllers_online ON controllers (callsign) WHERE disconnected_at IS NULL;
DROP INDEX flights_callsign;
DROP INDEX flights_online;
CREATE INDEX flights_online ON flights (callsign) WHERE disconnected_at IS NULL;
