#!/usr/bin/env bash
# `make run`: migrate and seed the embedded database, then serve every part of RouterX in the
# foreground. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUTERX=backend/.venv/bin/routerx

$ROUTERX migrate
$ROUTERX seed

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$ROUTERX gateway & pids+=($!)
$ROUTERX admin & pids+=($!)

echo "RouterX: gateway http://localhost:${GATEWAY_PORT:-8080}  admin API http://localhost:${ADMIN_PORT:-8081}"
wait -n "${pids[@]}"
