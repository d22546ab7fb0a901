-- +goose Up
-- Which instance may ingest into this database. One row: the writer's identity, an epoch that grows with each
-- claim, and when the writer last renewed its claim (every committed cycle does, in its own transaction).
-- A cycle whose epoch is no longer the row's fails and rolls back, so two instances never both write: the
-- newer claim fences the older. Times are Unix milliseconds, compared in SQL the same way by both databases.
CREATE TABLE ingest_writer (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    epoch         BIGINT NOT NULL,
    holder        TEXT NOT NULL,
    claimed_ms    BIGINT NOT NULL,
    renewed_ms    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE ingest_writer;
