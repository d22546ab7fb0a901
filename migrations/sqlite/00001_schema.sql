-- +goose Up
-- Identifiers of flights, visits, controllers, events and cycles are allocated by the single ingest writer in
-- memory (it already holds the state they extend), so a cycle is computed entirely before its transaction opens
-- and no statement has to return keys.

-- One row per pilot connection: (cid, callsign, logon_time) identifies it, CID alone does not.
CREATE TABLE flights (
    id              INTEGER PRIMARY KEY,
    cid             BIGINT NOT NULL,
    callsign        TEXT NOT NULL,
    logon_time      DATETIME NOT NULL,
    name            TEXT NOT NULL,
    server          TEXT NOT NULL,
    pilot_rating    INTEGER NOT NULL,
    military_rating INTEGER,
    latitude        REAL NOT NULL,
    longitude       REAL NOT NULL,
    altitude        INTEGER NOT NULL,
    groundspeed     INTEGER NOT NULL,
    heading         INTEGER NOT NULL,
    transponder     TEXT NOT NULL,
    qnh_i_hg        REAL NOT NULL,
    qnh_mb          INTEGER NOT NULL,
    last_updated    DATETIME NOT NULL,
    first_seen      DATETIME NOT NULL,
    last_seen       DATETIME NOT NULL,
    disconnected_at DATETIME,
    CONSTRAINT flights_connection UNIQUE (cid, callsign, logon_time)
);
CREATE INDEX flights_online ON flights (callsign) WHERE disconnected_at IS NULL;
CREATE INDEX flights_last_seen ON flights (last_seen);

-- The latest flight plan of a connection, kept apart from flights because it changes rarely and is wide: a
-- cycle rewrites it only when the plan changed.
CREATE TABLE flight_plans (
    flight_id            INTEGER PRIMARY KEY REFERENCES flights (id),
    flight_rules         TEXT NOT NULL,
    aircraft             TEXT NOT NULL,
    aircraft_faa         TEXT NOT NULL,
    aircraft_short       TEXT NOT NULL,
    departure            TEXT NOT NULL,
    arrival              TEXT NOT NULL,
    alternate            TEXT NOT NULL,
    cruise_tas           TEXT NOT NULL,
    altitude             TEXT NOT NULL,
    deptime              TEXT NOT NULL,
    enroute_time         TEXT NOT NULL,
    fuel_time            TEXT NOT NULL,
    remarks              TEXT NOT NULL,
    route                TEXT NOT NULL,
    revision_id          INTEGER,
    assigned_transponder TEXT NOT NULL,
    updated_at           DATETIME NOT NULL
);
CREATE INDEX flight_plans_departure ON flight_plans (departure);
CREATE INDEX flight_plans_arrival ON flight_plans (arrival);

-- One position per flight per ingest cycle.
CREATE TABLE positions (
    flight_id   BIGINT NOT NULL REFERENCES flights (id),
    observed_at DATETIME NOT NULL,
    latitude    REAL NOT NULL,
    longitude   REAL NOT NULL,
    altitude    INTEGER NOT NULL,
    groundspeed INTEGER NOT NULL,
    heading     INTEGER NOT NULL,
    PRIMARY KEY (flight_id, observed_at)
);
CREATE INDEX positions_observed_at ON positions (observed_at);

-- A flight's stay in one sector. Open while exited_at is NULL.
CREATE TABLE sector_visits (
    id               INTEGER PRIMARY KEY,
    flight_id        BIGINT NOT NULL REFERENCES flights (id),
    sector_id        TEXT NOT NULL,
    entered_at       DATETIME NOT NULL,
    entry_latitude   REAL NOT NULL,
    entry_longitude  REAL NOT NULL,
    entry_altitude   INTEGER NOT NULL,
    exited_at        DATETIME,
    exit_latitude    REAL,
    exit_longitude   REAL,
    exit_altitude    INTEGER,
    exit_reason      TEXT,
    duration_seconds REAL
);
-- A flight is at most once inside a sector at a time: a split or duplicated visit cannot be stored.
CREATE UNIQUE INDEX sector_visits_open ON sector_visits (flight_id, sector_id) WHERE exited_at IS NULL;
CREATE INDEX sector_visits_flight ON sector_visits (flight_id);
CREATE INDEX sector_visits_sector ON sector_visits (sector_id, entered_at);

-- One row per controller, observer or ATIS connection.
CREATE TABLE controllers (
    id              INTEGER PRIMARY KEY,
    cid             BIGINT NOT NULL,
    callsign        TEXT NOT NULL,
    logon_time      DATETIME NOT NULL,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    frequency       TEXT NOT NULL,
    facility        INTEGER NOT NULL,
    rating          INTEGER NOT NULL,
    server          TEXT NOT NULL,
    visual_range    INTEGER NOT NULL,
    atis_code       TEXT,
    text_atis       TEXT,
    sectors         TEXT NOT NULL,
    last_updated    DATETIME NOT NULL,
    first_seen      DATETIME NOT NULL,
    disconnected_at DATETIME,
    CONSTRAINT controllers_connection UNIQUE (cid, callsign, logon_time)
);
CREATE INDEX controllers_online ON controllers (callsign) WHERE disconnected_at IS NULL;

-- Entries, exits and staffing changes in one strictly increasing sequence, for streaming.
CREATE TABLE sector_events (
    sequence         INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    sector_id        TEXT NOT NULL,
    occurred_at      DATETIME NOT NULL,
    cycle_id         BIGINT NOT NULL,
    cid              BIGINT NOT NULL,
    callsign         TEXT NOT NULL,
    flight_id        BIGINT,
    visit_id         BIGINT,
    controller_id    BIGINT,
    latitude         REAL,
    longitude        REAL,
    altitude         INTEGER,
    exit_reason      TEXT,
    duration_seconds REAL
);
CREATE INDEX sector_events_sector ON sector_events (sector_id, sequence);
CREATE INDEX sector_events_occurred_at ON sector_events (occurred_at);

-- Every ingest cycle, committed or failed: what the ingestion status serves.
CREATE TABLE ingest_cycles (
    id                   INTEGER PRIMARY KEY,
    update_timestamp     DATETIME NOT NULL,
    fetched_at           DATETIME NOT NULL,
    committed_at         DATETIME,
    pilots               INTEGER NOT NULL,
    controllers          INTEGER NOT NULL,
    atis                 INTEGER NOT NULL,
    flights_written      INTEGER NOT NULL,
    flight_plans_written INTEGER NOT NULL,
    positions_written    INTEGER NOT NULL,
    visits_opened        INTEGER NOT NULL,
    visits_closed        INTEGER NOT NULL,
    events_written       INTEGER NOT NULL,
    controllers_written  INTEGER NOT NULL,
    first_sequence       BIGINT,
    last_sequence        BIGINT,
    statements           INTEGER NOT NULL,
    decode_us            BIGINT NOT NULL,
    classify_us          BIGINT NOT NULL,
    diff_us              BIGINT NOT NULL,
    write_us             BIGINT NOT NULL,
    commit_us            BIGINT NOT NULL,
    total_us             BIGINT NOT NULL,
    error                TEXT
);
-- A snapshot is committed at most once, even if two writers raced for it.
CREATE UNIQUE INDEX ingest_cycles_committed ON ingest_cycles (update_timestamp) WHERE error IS NULL;

-- +goose Down
DROP TABLE ingest_cycles;
DROP TABLE sector_events;
DROP TABLE controllers;
DROP TABLE sector_visits;
DROP TABLE positions;
DROP TABLE flight_plans;
DROP TABLE flights;
