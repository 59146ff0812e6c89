#!/usr/bin/env bash
# Build the console unless a build newer than every source file is already there.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
# The admin API address is baked into the build (Next.js rewrites), so it is part of the stamp.
admin_url="${ADMIN_API_URL:-http://127.0.0.1:${ADMIN_PORT:-8081}}"
stamp=.next/BUILD_ID
if [ -f "$stamp" ] && [ "$(cat .next/ROUTERX_ADMIN_API_URL 2>/dev/null)" = "$admin_url" ] \
   && [ -z "$(find app components lib proxy.ts next.config.ts package-lock.json \
        -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
ADMIN_API_URL="$admin_url" NEXT_TELEMETRY_DISABLED=1 npm run build --silent
echo "$admin_url" > .next/ROUTERX_ADMIN_API_URL
