-- +goose Up
-- Each sector's distinct flights of each UTC day: the flights with a visit overlapping the day (entered_at < day
-- end AND (exited_at IS NULL OR exited_at >= day start)), kept by ingest in the cycle's transaction like the
-- hours (a row per sector-day whose count changed). A day's distinct flights cannot be summed from its hours, and
-- counting them from the visits read every visit of the day: ListSectorTraffic over one day for every VATSpy
-- sector took about 800 ms on PostgreSQL with the 726,000 visits a day of 3,000 simulated pilots (bench/stats).
CREATE TABLE sector_days (
    sector_set TEXT NOT NULL,
    sector_id  TEXT NOT NULL,
    day        TIMESTAMPTZ NOT NULL,
    flights    INTEGER NOT NULL,
    PRIMARY KEY (sector_set, sector_id, day)
);
-- Every sector of a set on a day (ListSectorTraffic), and retention.
CREATE INDEX sector_days_day ON sector_days (day);
-- The days already stored, from their visits; an open visit lasts until the last committed cycle.
INSERT INTO sector_days (sector_set, sector_id, day, flights)
SELECT v.sector_set, v.sector_id, d.day, COUNT(DISTINCT v.flight_id)
FROM sector_visits v
CROSS JOIN LATERAL generate_series(
    date_trunc('day', v.entered_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
    COALESCE(v.exited_at, (SELECT MAX(update_timestamp) FROM ingest_cycles WHERE error IS NULL), v.entered_at),
    interval '1 day') AS d(day)
GROUP BY v.sector_set, v.sector_id, d.day;

-- +goose Down
DROP TABLE sector_days;
