#!/usr/bin/env bash
# Build the console unless a build newer than every source file is already there.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
stamp=.next/BUILD_ID
if [ -f "$stamp" ] && [ -z "$(find app components lib proxy.ts next.config.ts package-lock.json \
     -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
NEXT_TELEMETRY_DISABLED=1 npm run build --silent
