#!/usr/bin/env bash
# CI check of the map page's generated and built files. Fails (non-zero) when the committed web/src/gen
# (TypeScript generated from proto/) or web/dist (the Vite build embedded into the binary) differs from what
# scripts/web-build.sh produces from the sources, package-lock.json and proto/ as they are: the diff is
# printed and the tree is left rebuilt, so the fix is to review and commit web/src/gen and web/dist.
# The comparison is against copies taken before rebuilding, so it works in a fresh clone and outside git alike.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in web/src/gen web/dist; do
	mkdir -p "$tmp/before/$d"
	if [ -d "$d" ]; then
		cp -a "$d/." "$tmp/before/$d/"
	fi
done

echo "check-web: rebuilding web/src/gen and web/dist"
bash scripts/web-build.sh

failed=0
for d in web/src/gen web/dist; do
	# Built files are minified to long lines: name the files that differ, and show the diff of the short ones.
	if ! diff -ruN "$tmp/before/$d" "$d" >"$tmp/diff" 2>&1; then
		failed=1
		echo "check-web: $d differs from its rebuild:" >&2
		diff -rqN "$tmp/before/$d" "$d" >&2 || true
		cut -c1-300 "$tmp/diff" | head -n 200 >&2
	fi
done
if [ "$failed" -ne 0 ]; then
	echo >&2
	echo "check-web: FAIL: web/src/gen or web/dist was out of date with proto/ and web/ (old -> new above)." >&2
	echo "check-web: they have been rebuilt by scripts/web-build.sh: review them and commit them (never edit them by hand)." >&2
	exit 1
fi

echo "check-web: OK"
