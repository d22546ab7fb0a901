#!/usr/bin/env bash
# Checks proto/ for changes that break the published contract (buf.yaml: breaking FILE), against a git ref of
# this repository, by default HEAD (i.e. your uncommitted changes): bash scripts/check-breaking.sh [REF]
# e.g. bash scripts/check-breaking.sh origin/main. Skips (exit 0) when REF has no buf.yaml (nothing published
# yet). Not part of check-gen.sh: while v1 is unreleased a break may be deliberate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOWORK=off
ref=${1:-HEAD}
if ! git cat-file -e "$ref:buf.yaml" 2>/dev/null; then
	echo "check-breaking: $ref has no buf.yaml; nothing to compare against" >&2
	exit 0
fi
# Only the API module (proto/): the vendored googleapis module is not ours to check, and an older ref may not
# have it.
go tool -modfile=tools/go.mod buf breaking proto --against ".git#ref=$ref,subdir=proto"
echo "check-breaking: OK against $ref"
