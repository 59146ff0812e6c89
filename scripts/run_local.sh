#!/usr/bin/env bash
# `make run`: migrate and seed the embedded database, then serve every part of RouterX in the
# foreground: gateway :8080, admin API :8081, console :3000, on 127.0.0.1 unless HOST says
# otherwise. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUTERX=backend/.venv/bin/routerx
export NEXT_TELEMETRY_DISABLED=1

# Secrets that are unset or the published example: generated once, kept in data/ (mode 0600).
eval "$($ROUTERX local-secrets)"

$ROUTERX migrate
$ROUTERX seed

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$ROUTERX gateway & pids+=($!)
$ROUTERX admin & pids+=($!)
# The console's server passes each browser's socket address on to the admin API.
(cd frontend && ADMIN_API_URL="http://127.0.0.1:${ADMIN_PORT:-8081}" NODE_ENV=production \
  CONSOLE_HOST="${CONSOLE_HOST:-${HOST:-127.0.0.1}}" CONSOLE_PORT="${CONSOLE_PORT:-3000}" \
  exec node server.mjs) & pids+=($!)

cat <<MSG
RouterX is running:
  gateway    http://localhost:${GATEWAY_PORT:-8080}/v1   (key: demo_key_fake_123456)
  admin API  http://localhost:${ADMIN_PORT:-8081}/api/v1
  console    http://localhost:${CONSOLE_PORT:-3000}      (admin / admin123, local only)
MSG
wait -n "${pids[@]}"
