-- +goose Up
-- Radio coverage of each position, from the transceivers file paired with its snapshot: on_frequency is NULL
-- when the cycle had no such file (coverage unknown, never counted as off frequency), false when no radio of
-- the pilot reached a controller position, true when it was working controller_id (package radio). Positions
-- stored before this migration have both NULL: unknown. Nullable columns without a default: adding them rewrites
-- no row on either database.
ALTER TABLE positions ADD COLUMN on_frequency BOOLEAN;
ALTER TABLE positions ADD COLUMN controller_id BIGINT;

-- +goose Down
ALTER TABLE positions DROP COLUMN controller_id;
ALTER TABLE positions DROP COLUMN on_frequency;
