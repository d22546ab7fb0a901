#!/usr/bin/env bash
# CI check of the API contract and its generated code. Fails (non-zero) when:
#   - buf lint reports anything (buf.yaml: STANDARD + COMMENTS, no exceptions);
#   - a .proto file is not buf-formatted (fix: go tool -modfile=tools/go.mod buf format -w);
#   - the committed gen/ differs from what scripts/gen.sh generates (the diff is printed; the tree is left
#     regenerated, so the fix is to review and commit gen/);
#   - gen/ does not build against the main module's go.mod as it is (no `go mod tidy` needed).
# The comparison is against a copy of gen/ taken before regenerating, so it works in a fresh clone and
# outside git alike.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOWORK=off

buf() { go tool -modfile=tools/go.mod buf "$@"; }

echo "check-gen: buf lint"
buf lint

echo "check-gen: buf format"
if ! buf format --diff --exit-code; then
	echo "check-gen: FAIL: proto files are not formatted; run: go tool -modfile=tools/go.mod buf format -w" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/before"
if [ -d gen ]; then
	cp -a gen/. "$tmp/before/"
fi

echo "check-gen: regenerating gen/"
bash scripts/gen.sh

if ! diff -ruN "$tmp/before" gen >"$tmp/gen.diff"; then
	cat "$tmp/gen.diff"
	echo >&2
	echo "check-gen: FAIL: gen/ was out of date with proto/ (diff above, old -> new). gen/ has been regenerated:" >&2
	echo "check-gen: review it and commit it (never edit gen/ by hand)." >&2
	exit 1
fi

echo "check-gen: go build ./gen/..."
go build ./gen/...

echo "check-gen: OK"
