-- +goose Up
-- A flight's row is rewritten only when one of its stored attributes changes (or it connects, returns or
-- disconnects), no longer every cycle only to carry its latest position: that is the flight's newest position,
-- which the cycle stores anyway. The reads take an online flight's position, groundspeed, heading, last_seen
-- and last_updated from it, so a position holds the pilot's last_updated of its cycle too. NULL in positions
-- stored before this migration: the flight's row was then rewritten every cycle and holds the value of its newest
-- position (the reads fall back to it).
ALTER TABLE positions ADD COLUMN last_updated DATETIME;

-- +goose Down
ALTER TABLE positions DROP COLUMN last_updated;
