#!/usr/bin/env bash
# Builds the map page: installs web/'s pinned npm packages (npm ci, from web/package-lock.json), generates
# the TypeScript API code (web/src/gen) from proto/ with buf and @bufbuild/protoc-gen-es (buf.gen.web.yaml),
# type-checks and bundles it with Vite into web/dist/, which web/embed.go embeds into the binary.
# web/src/gen and web/dist are committed; CI rebuilds them and fails on drift (scripts/check-web.sh).
# Needs Node.js 20+ and npm; the npm registry on first use (npm ci), nothing else. Run from anywhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# -modfile cannot be used in workspace mode; buf is built from its own pinned module only.
export GOWORK=off

if ! command -v npm >/dev/null; then
	echo "web-build: npm not found: install Node.js 20+ (with npm)" >&2
	exit 1
fi

echo "web-build: npm ci (web/)"
(cd web && npm ci --no-audit --no-fund --loglevel=error)

echo "web-build: buf generate --template buf.gen.web.yaml (web/src/gen)"
go tool -modfile=tools/go.mod buf generate --template buf.gen.web.yaml

echo "web-build: tsc --noEmit && vite build (web/dist)"
(cd web && npx --no-install tsc --noEmit && npx --no-install vite build --logLevel warn)

echo "web-build: OK ($(du -sh web/dist | cut -f1) in web/dist)"
