#!/usr/bin/env bash
# The one test command (README and .ci/run both call it).
# Installs the real peers the tests need (Mailpit, Chromium), checks
# PostgreSQL and runs every test of both modules under -race.
set -euo pipefail
cd "$(dirname "$0")/.."

MAILPIT_VERSION=v1.27.11
export PATH="$(go env GOPATH)/bin:$PATH"

if ! command -v mailpit >/dev/null 2>&1; then
  echo "== installing mailpit $MAILPIT_VERSION (go install, ~3 min cold)"
  go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (apt-get)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null
fi

if command -v npm >/dev/null 2>&1; then
  echo "== installing axe-core for the accessibility checks (npm ci, from the lock file)"
  npm ci --prefix internal/pages/testdata/axe --no-audit --no-fund --silent
else
  echo "== npm not found: the browser tests skip their axe-core part" >&2
fi

if command -v npm >/dev/null 2>&1; then
  echo "== installing the Standard Webhooks npm verifier (standardwebhooks, npm ci, from the lock file)"
  npm ci --prefix invite/webhooks/testdata/node --no-audit --no-fund --silent
else
  echo "== npm not found: invite/webhooks skips its Node.js verifier" >&2
fi

if command -v npm >/dev/null 2>&1; then
  echo "== installing panva oidc-provider for authflow's interop and SSO tests (npm ci, from the lock file)"
  npm ci --prefix authflow/testdata/panva --no-audit --no-fund --silent
else
  echo "== npm not found: authflow skips its panva oidc-provider tests" >&2
fi

export INVITEKIT_POSTGRES_DSN="${INVITEKIT_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export INVITEKIT_REDIS_ADDR="${INVITEKIT_REDIS_ADDR:-127.0.0.1:6379}"
if ! go run ./scripts/pgcheck "$INVITEKIT_POSTGRES_DSN"; then
  echo "PostgreSQL is not reachable at INVITEKIT_POSTGRES_DSN=$INVITEKIT_POSTGRES_DSN" >&2
  exit 1
fi

echo "== go vet"
go vet ./...
go -C examples vet ./...

echo "== go test -race (main module)"
go test -race -count=1 -timeout 30m ./...
echo "== go test (the 60-s webhook outage test, without -race: under it SQLite alone takes 15+ min)"
go test -count=1 -timeout 20m -run '^TestFaultReceiverDown$' ./invite/webhooks/
echo "== go test -race (examples module)"
go -C examples test -race -count=1 -timeout 20m ./...
