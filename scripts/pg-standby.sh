#!/usr/bin/env bash
# Starts a PostgreSQL hot standby of the local primary (127.0.0.1:5432) on 127.0.0.1:5433, creating it first when
# it does not exist: a second cluster of the same version, its data copied with pg_basebackup -R, which writes
# the primary_conninfo and standby.signal that make it stream from the primary. The tests that read through a
# standby (--read-database-url) use it; they skip without it, and fail without it under CI=true.
#
# Idempotent: run it as often as you like. It changes the primary only to let 127.0.0.1 replicate (a pg_hba.conf
# line, then a reload), which the primary of this machine lacks.
set -euo pipefail

port=${STANDBY_PORT:-5433}
version=$(ls /etc/postgresql | sort -n | tail -1)
hba=/etc/postgresql/$version/main/pg_hba.conf
data=/var/lib/postgresql/$version/standby

if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
  echo "host replication all 127.0.0.1/32 trust" >>"$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
fi

if ! pg_lsclusters -h | awk '{print $2}' | grep -qx standby; then
  pg_createcluster "$version" standby -p "$port" >/dev/null
  # The new cluster's own files are replaced by a copy of the primary's.
  rm -rf "${data:?}"/*
  su postgres -c "pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D '$data' -R -X stream -c fast"
fi
# Debian keeps a cluster's configuration beside, not in, its data: the standby takes the primary's access rules
# (trust on loopback), not pg_createcluster's password ones.
if ! cmp -s "$hba" "/etc/postgresql/$version/standby/pg_hba.conf"; then
  cp "$hba" "/etc/postgresql/$version/standby/pg_hba.conf"
  pg_isready -q -h 127.0.0.1 -p "$port" && pg_ctlcluster --skip-systemctl-redirect "$version" standby reload
fi

if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
  pg_ctlcluster --skip-systemctl-redirect "$version" standby start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p "$port"
in_recovery=$(psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'SELECT pg_is_in_recovery()')
if [ "$in_recovery" != t ]; then
  echo "the cluster on port $port is not a standby (pg_is_in_recovery() = $in_recovery)" >&2
  exit 1
fi
