#!/usr/bin/env bash
# Runs the Python client steps of README.md ("Clients in other languages") as written there, against a real
# service process on simulated traffic: the protoc command, then client.py. Not run by CI. Run from the
# repository root; needs Debian's packages named in the README (it does not install them) and ../shared/data
# (the VATSpy sectors, so that nothing is downloaded).
set -euo pipefail
shared=${SHARED_DATA:-../shared/data}
for p in protobuf-compiler libprotobuf-dev protobuf-compiler-grpc python3-grpcio python3-protobuf; do
  dpkg -s "$p" >/dev/null 2>&1 || { echo "client-python-smoke: package $p is not installed" >&2; exit 1; }
done
[ -d "$shared/airspace/vatspy" ] || { echo "client-python-smoke: $shared/airspace/vatspy not found" >&2; exit 1; }

work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; rm -rf "$work"' EXIT

# The section's fenced blocks, in order: 1 the apt-get and protoc commands, 2 client.py, 3 the command that
# runs it, 4 sample output.
awk -v dir="$work" '
  /^### Clients in other languages/ { in_section = 1; next }
  in_section && /^##/ { exit }
  in_section && /^```/ { if (inblock) { inblock = 0; close(file) } else { inblock = 1; file = dir "/block" ++n } ; next }
  inblock { print > file }
' README.md
for i in 1 2 3; do [ -s "$work/block$i" ] || { echo "client-python-smoke: README block $i not found" >&2; exit 1; }; done

go build -o "$work/vatsector" .
addr=127.0.0.1:$((20000 + RANDOM % 20000))
"$work/vatsector" --feed sim:300 --sectors "$shared/airspace/vatspy" --data-dir "$work/data" \
  --listen "$addr" --metrics-listen "" --shutdown-wait 0s >"$work/log" 2>&1 &
pid=$!
"$work/vatsector" healthcheck --wait --timeout 60s --addr "$addr" || { cat "$work/log"; exit 1; }
for _ in $(seq 1 60); do grep -q "cycle committed" "$work/log" && break; sleep 0.5; done

# Block 1 as written (apt-get left out: the packages were checked above), with OUT in the work folder.
grep -v '^apt-get ' "$work/block1" | sed "s|^OUT=.*|OUT=$work/out|" >"$work/generate.sh"
bash -euo pipefail "$work/generate.sh"
mkdir "$work/client"
cp "$work/block2" "$work/client/client.py"
# Block 3 as written, from the client's folder, on this service's address.
out=$(cd "$work/client" && OUT="$work/out" bash -euo pipefail -c "$(sed "s|localhost:50051|$addr|" "$work/block3")")
echo "$out"
grep -q '^HEALTH_STATE_OK ' <<<"$out" || { echo "client-python-smoke: no HEALTH_STATE_OK line" >&2; exit 1; }
[ "$(grep -c '^sets/vatspy/sectors/' <<<"$out")" -eq 5 ] || { echo "client-python-smoke: want 5 sectors" >&2; exit 1; }
echo "client-python-smoke: ok"
