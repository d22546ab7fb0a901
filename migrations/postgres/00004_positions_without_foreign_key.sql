-- +goose Up
-- A foreign key is checked row by row: PostgreSQL runs a lookup, and locks the flight row, for every position
-- inserted. At 30,000 pilots that was 170 of the 295 ms the positions insert took (bench, 8 cycles with and
-- without it). Positions are append-only history, written only by the ingest cycle, in the same transaction
-- and right after the flight rows they belong to, and flights are never deleted: the key guarded against
-- nothing the writer can do. SQLite keeps its key: it checks it in process, and dropping it would mean copying
-- the whole position history into a new table.
ALTER TABLE positions DROP CONSTRAINT positions_flight_id_fkey;

-- +goose Down
ALTER TABLE positions ADD CONSTRAINT positions_flight_id_fkey FOREIGN KEY (flight_id) REFERENCES flights (id);
