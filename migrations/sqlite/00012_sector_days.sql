-- +goose Up
-- Each sector's distinct flights of each UTC day; the PostgreSQL migration of the same number says why.
CREATE TABLE sector_days (
    sector_set TEXT NOT NULL,
    sector_id  TEXT NOT NULL,
    day        DATETIME NOT NULL,
    flights    INTEGER NOT NULL,
    PRIMARY KEY (sector_set, sector_id, day)
);
CREATE INDEX sector_days_day ON sector_days (day);
-- The days already stored, from their visits; an open visit lasts until the last committed cycle. Times are
-- stored as the driver writes a UTC time.Time ("2024-03-01 18:00:00.123456 +0000 UTC"): the date is its first
-- ten characters, and a day is written as the driver would write its start.
INSERT INTO sector_days (sector_set, sector_id, day, flights)
WITH RECURSIVE
    last(at) AS (SELECT MAX(update_timestamp) FROM ingest_cycles WHERE error IS NULL),
    span(sector_set, sector_id, flight_id, d, until) AS (
        SELECT sector_set, sector_id, flight_id, date(substr(entered_at, 1, 10)),
               date(substr(COALESCE(exited_at, (SELECT at FROM last), entered_at), 1, 10))
        FROM sector_visits
        UNION ALL
        SELECT sector_set, sector_id, flight_id, date(d, '+1 day'), until FROM span WHERE d < until
    )
SELECT sector_set, sector_id, d || ' 00:00:00 +0000 UTC', COUNT(DISTINCT flight_id)
FROM span GROUP BY sector_set, sector_id, d;

-- +goose Down
DROP TABLE sector_days;
