-- +goose Up
-- Every committed cycle notifies the channel vatsector_cycles with its id, at commit (a notification sent in a
-- transaction is delivered when it commits, never if it rolls back), so that the instances that do not write,
-- LISTENing on a connection to this primary, publish it to their streams at once instead of at their next poll.
-- A trigger, not a statement of the cycle's: the cycle's statements stay what they were. A hot standby delivers
-- no notifications; its instances poll.
-- +goose StatementBegin
CREATE FUNCTION vatsector_notify_cycle() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('vatsector_cycles', NEW.id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER ingest_cycles_notify AFTER INSERT ON ingest_cycles FOR EACH ROW WHEN (NEW.error IS NULL)
    EXECUTE FUNCTION vatsector_notify_cycle();

-- +goose Down
DROP TRIGGER ingest_cycles_notify ON ingest_cycles;
DROP FUNCTION vatsector_notify_cycle();
