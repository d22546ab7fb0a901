#!/usr/bin/env bash
# Generates the Go code of the API (gen/vatsector/v1/*.pb.go) from proto/ with the pinned, local tools:
#   buf                v1.75.0   (tools/go.mod)
#   protoc-gen-go      v1.36.12  (tools/plugins/go.mod)
#   protoc-gen-go-grpc v1.6.2    (tools/plugins/go.mod)
# Nothing is fetched but Go modules (through the Go module proxy, on first use). gen/ is replaced whole (see
# buf.gen.yaml). Run from anywhere: bash scripts/gen.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# -modfile cannot be used in workspace mode; the tools are built from their own modules only.
export GOWORK=off

# Build the plugins first so that a tool problem is reported plainly, not through buf's plugin error.
go tool -modfile=tools/plugins/go.mod protoc-gen-go --version >/dev/null
go tool -modfile=tools/plugins/go.mod protoc-gen-go-grpc --version >/dev/null

go tool -modfile=tools/go.mod buf generate
