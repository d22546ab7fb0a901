#!/usr/bin/env bash
# Starts a real service process replaying the shared snapshots and calls it with grpcurl (reflection, no proto
# files), as a user would. Run from the repository root; needs ../shared/data.
set -euo pipefail
shared=${SHARED_DATA:-../shared/data}
if [ ! -d "$shared/feeds" ]; then
  if [ "${CI:-}" = true ]; then echo "grpcurl-smoke: $shared is required in CI" >&2; exit 1; fi
  echo "grpcurl-smoke: skipped: $shared not found"; exit 0
fi
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/vatsector" .
grpcurl() { go tool -modfile=tools/grpcurl/go.mod grpcurl -plaintext "$@"; }
port=$((20000 + RANDOM % 20000))
addr=127.0.0.1:$port
web=http://127.0.0.1:$((port + 1))

"$work/vatsector" --feed "replay:$shared/feeds" --sectors "$shared/airspace/vatspy" --data-dir "$work/data" \
  --listen "$addr" --http-listen "${web#http://}" --metrics-listen "" --shutdown-wait 4s >"$work/log" 2>&1 &
pid=$!
# SERVING means migrated and pinged; the replay then takes a few seconds more.
"$work/vatsector" healthcheck --wait --timeout 60s --addr "$addr" || { cat "$work/log"; exit 1; }
for _ in $(seq 1 120); do grep -q "feed exhausted" "$work/log" && break; sleep 0.5; done
grep -q "feed exhausted" "$work/log" || { cat "$work/log"; echo "replay did not finish" >&2; exit 1; }

check() { # check NAME PATTERN -- grpcurl args...: the call succeeds and prints PATTERN
  local name=$1 pattern=$2; shift 3
  local out
  out=$(grpcurl "$@" 2>&1) || { echo "$name failed: $out" >&2; exit 1; }
  grep -q -- "$pattern" <<<"$out" || { echo "$name: output lacks $pattern:" >&2; echo "$out" >&2; exit 1; }
  echo "ok: $name"
}
check_error() { # check_error NAME CODE -- grpcurl args...: the call fails with status CODE
  local name=$1 code=$2; shift 3
  local out
  if out=$(grpcurl "$@" 2>&1); then echo "$name succeeded, want $code: $out" >&2; exit 1; fi
  grep -q -- "Code: $code" <<<"$out" || { echo "$name: want $code, got:" >&2; echo "$out" >&2; exit 1; }
  echo "ok: $name ($code)"
}
check_stream() { # check_stream NAME PATTERN -- grpcurl args...: a stream, ended by -max-time, printed PATTERN
  local name=$1 pattern=$2; shift 3
  local out
  if out=$(grpcurl "$@" 2>&1); then echo "$name ended, want it to run until -max-time: $out" >&2; exit 1; fi
  grep -q -- "Code: DeadlineExceeded" <<<"$out" && grep -q -- "$pattern" <<<"$out" ||
    { echo "$name: want $pattern, then DeadlineExceeded, got:" >&2; echo "$out" >&2; exit 1; }
  echo "ok: $name"
}
check "list services" "vatsector.v1.SectorService" -- "$addr" list
check "ingestion status" '"cyclesCommitted": "6"' -- "$addr" vatsector.v1.IngestService/GetIngestionStatus
check "sectors" '"id": "EGTT"' -- -d '{"page_size": 1000}' "$addr" vatsector.v1.SectorService/ListSectors
check "occupancy" '"occupants"' -- -d '{"sector_id": "EGTT"}' "$addr" vatsector.v1.SectorService/GetSectorOccupancy
check_error "unknown sector" NotFound -- -d '{"sector_id": "NOPE"}' "$addr" vatsector.v1.SectorService/GetSectorOccupancy
check "flights" '"callsign"' -- -d '{"page_size": 2}' "$addr" vatsector.v1.FlightService/ListFlights
check_error "bad page token" InvalidArgument -- -d '{"page_token": "garbage"}' "$addr" vatsector.v1.FlightService/ListFlights
check "events replay" '"sequence": "1"' -- -d '{"page_size": 1}' "$addr" vatsector.v1.SectorService/ListSectorEvents
check_stream "event batches" '"events": {' -- -max-time 3 -d '{"sector_ids": ["EGTT"], "after_sequence": 0, "batch_events": true}' \
  "$addr" vatsector.v1.SectorService/WatchSectorEvents

# The same API over HTTP/1.1 with curl: a Connect JSON call, a REST GET, and a Connect server stream read to
# its second message (each message is an envelope: a flags byte, a 4-byte big-endian length, the JSON).
curl_check() { # curl_check NAME PATTERN -- curl args...
  local name=$1 pattern=$2; shift 3
  local out
  out=$(curl -sS --http1.1 --fail-with-body "$@" 2>&1) || { echo "$name failed: $out" >&2; exit 1; }
  grep -q -- "$pattern" <<<"$out" || { echo "$name: output lacks $pattern:" >&2; echo "$out" >&2; exit 1; }
  echo "ok: $name"
}
curl_check "Connect JSON call" '"cyclesCommitted":"6"' -- -H 'Content-Type: application/json' -d '{}' \
  "$web/vatsector.v1.IngestService/GetIngestionStatus"
curl_check "REST GET" '"resourceName":"sets/vatspy/sectors/EGTT"' -- "$web/v1/sets/vatspy/sectors/EGTT/occupancy"
code=$(curl -sS --http1.1 -o "$work/rest-error" -w '%{http_code}' "$web/v1/flights/999999")
[ "$code" = 404 ] && grep -q '"code":5' "$work/rest-error" || { echo "REST unknown flight: $code $(cat "$work/rest-error")" >&2; exit 1; }
echo "ok: REST error (404, NOT_FOUND)"
req='{"sectorIds":["EGTT"],"afterSequence":"0"}'
printf '\0\0\0\0'"$(printf '\\x%02x' ${#req})"'%s' "$req" >"$work/stream-request"
curl -sS --http1.1 -N --max-time 3 -H 'Content-Type: application/connect+json' --data-binary @"$work/stream-request" \
  "$web/vatsector.v1.SectorService/WatchSectorEvents" >"$work/stream" 2>"$work/stream-err" || true # ends at --max-time
messages=$(python3 -c '
import json, struct, sys
data, n = open(sys.argv[1], "rb").read(), 0
while len(data) >= 5:
    flags, size = struct.unpack(">BI", data[:5])
    msg, data = json.loads(data[5:5 + size]), data[5 + size:]
    if flags == 0 and "event" in msg:
        n += 1
print(n)' "$work/stream")
[ "$messages" -ge 2 ] || { echo "Connect stream over curl: $messages events, want at least 2:" >&2; od -c "$work/stream" | head >&2; exit 1; }
echo "ok: Connect server stream over curl ($messages events)"

kill -TERM "$pid"
# For --shutdown-wait the service reports NOT_SERVING, so a load balancer moves clients away, and still answers.
for _ in $(seq 1 40); do
  if ! out=$("$work/vatsector" healthcheck --addr "$addr" 2>&1); then break; fi
  sleep 0.1
done
grep -q NOT_SERVING <<<"$out" || { echo "health after SIGTERM: want NOT_SERVING, got: $out" >&2; exit 1; }
echo "ok: NOT_SERVING after SIGTERM"
check "queries answered during the shutdown wait" '"id": "EGTT"' -- -d '{"page_size": 1000}' "$addr" vatsector.v1.SectorService/ListSectors
wait "$pid"
grep -q "stopped" "$work/log" || { cat "$work/log"; echo "no clean stop" >&2; exit 1; }
echo "grpcurl-smoke: OK"
