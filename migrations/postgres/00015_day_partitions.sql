-- +goose Up
-- Positions and sector events are partitioned by UTC day (declarative range partitioning on observed_at and
-- occurred_at), so that retention drops whole days (DETACH PARTITION … CONCURRENTLY, then DROP TABLE: no row is
-- deleted, no dead tuple is left for vacuum, and a cycle inserting beside it is never blocked) instead of
-- deleting millions of rows an hour. A row outside every partition cannot be inserted: the store creates each
-- day's partition ahead of time (Store.EnsurePartitions, at start and hourly, 3 days ahead) and, as a safety
-- net, before a cycle whose rows fall on a day it has not seen (repository/partitions.go).
--
-- The existing tables are not copied: each is renamed to <table>_before and attached whole, as the partition
-- FROM (MINVALUE) TO the start of the UTC day after its newest row (at least today), and day partitions follow
-- it up to 3 days ahead. Retention drops it once its upper bound is past the cutoff, like any other day. An
-- empty table (a new database) is dropped instead: there is nothing to keep, and every day gets its own
-- partition. The attach checks the bound with one scan of the table; adding a CHECK constraint matching the
-- bound first would let the attach skip its scan, but the constraint's own validation is the same scan inside
-- the same transaction (3,000,000 positions: 181 ms to add the CHECK, then 3 ms to attach, against 180 ms to
-- attach alone, PostgreSQL 15 on this project's 2-core machine), so it is not done.
--
-- Index names: the renamed tables' indexes are renamed with them (the primary key's constraint follows its
-- index), so that the partitioned tables take the original names, and the attach adopts the renamed indexes as
-- the partitions of the new ones, without building them again; all but the events' new key, which differs from
-- their old one and is built on the old events by the attach (one sort of them).
ALTER TABLE positions RENAME TO positions_before;
ALTER INDEX positions_pkey RENAME TO positions_before_pkey;
ALTER INDEX positions_observed_at RENAME TO positions_before_observed_at;
ALTER INDEX positions_controller RENAME TO positions_before_controller;
-- The same columns, in the same order, with the same defaults.
CREATE TABLE positions (LIKE positions_before INCLUDING DEFAULTS) PARTITION BY RANGE (observed_at);
ALTER TABLE positions ADD PRIMARY KEY (flight_id, observed_at);
CREATE INDEX positions_observed_at ON positions (observed_at);
CREATE INDEX positions_controller ON positions (controller_id, observed_at) WHERE controller_id IS NOT NULL;

ALTER TABLE sector_events RENAME TO sector_events_before;
ALTER INDEX sector_events_pkey RENAME TO sector_events_before_pkey;
ALTER INDEX sector_events_sector RENAME TO sector_events_before_sector;
ALTER INDEX sector_events_occurred_at RENAME TO sector_events_before_occurred_at;
CREATE TABLE sector_events (LIKE sector_events_before INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
-- A partitioned table's primary key must hold the partition key, so it is (sequence, occurred_at): PostgreSQL
-- no longer checks that a sequence is unique across days. It still is: the single ingest writer (ingest_writer)
-- hands out each sequence once, from the highest one stored (LoadState), and every read and the key's own
-- order are by sequence first.
ALTER TABLE sector_events ADD PRIMARY KEY (sequence, occurred_at);
CREATE INDEX sector_events_sector ON sector_events (sector_set, sector_id, sequence);
CREATE INDEX sector_events_occurred_at ON sector_events (occurred_at);

-- +goose StatementBegin
DO $$
DECLARE
    t       record;
    newest  timestamptz;
    today   date := (now() AT TIME ZONE 'UTC')::date;
    bound   date;
    d       date;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('positions', 'observed_at'), ('sector_events', 'occurred_at')) AS v (name, col) LOOP
        EXECUTE format('SELECT max(%I) FROM %I', t.col, t.name || '_before') INTO newest;
        IF newest IS NULL THEN
            EXECUTE format('DROP TABLE %I', t.name || '_before');
            bound := today;
        ELSE
            bound := greatest((newest AT TIME ZONE 'UTC')::date + 1, today);
            IF t.name = 'sector_events' THEN
                -- The old key, on sequence alone, is not the new one, which the attach builds on the old table;
                -- a table has one primary key.
                ALTER TABLE sector_events_before DROP CONSTRAINT sector_events_before_pkey;
            END IF;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%L)',
                t.name, t.name || '_before', bound::text || ' 00:00:00+00');
        END IF;
        d := bound;
        WHILE d <= today + 3 LOOP
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                t.name || '_p' || to_char(d, 'YYYYMMDD'), t.name, d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
            d := d + 1;
        END LOOP;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- Events are pruned by whole cycles (a prefix of the sequence), but a day's partition holds the events that
-- occurred that day, and an exit occurs at the flight's last sighting: the exit of a cycle a few seconds after
-- midnight is in the previous day's partition, its entries in the next. Dropping the previous day would leave
-- that cycle half there. So retention first records here the last sequence it prunes through, always the end of
-- a cycle, and every read of events ignores the sequences up to it; partitions holding only such sequences are
-- then dropped. One row. SQLite has the same table (and deletes rows, by whole cycles, as before).
CREATE TABLE event_retention (pruned_through BIGINT NOT NULL);
INSERT INTO event_retention (pruned_through) VALUES (0);

-- +goose Down
-- Plain tables again, with every retained row: the events retention has cut off (sequence <= pruned_through)
-- but whose partition was not dropped yet are not copied back, so that no cycle is left half there.
CREATE TABLE positions_plain (LIKE positions INCLUDING DEFAULTS);
INSERT INTO positions_plain SELECT * FROM positions;
DROP TABLE positions;
ALTER TABLE positions_plain RENAME TO positions;
ALTER TABLE positions ADD PRIMARY KEY (flight_id, observed_at);
CREATE INDEX positions_observed_at ON positions (observed_at);
CREATE INDEX positions_controller ON positions (controller_id, observed_at) WHERE controller_id IS NOT NULL;

CREATE TABLE sector_events_plain (LIKE sector_events INCLUDING DEFAULTS);
INSERT INTO sector_events_plain SELECT * FROM sector_events
    WHERE sequence > (SELECT COALESCE(MAX(pruned_through), 0) FROM event_retention);
DROP TABLE sector_events;
ALTER TABLE sector_events_plain RENAME TO sector_events;
ALTER TABLE sector_events ADD PRIMARY KEY (sequence);
CREATE INDEX sector_events_sector ON sector_events (sector_set, sector_id, sequence);
CREATE INDEX sector_events_occurred_at ON sector_events (occurred_at);

DROP TABLE event_retention;
