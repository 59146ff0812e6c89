#!/usr/bin/env bash
# Node.js 20+ and npm for the console, from Debian's packages when missing.
set -euo pipefail
if command -v node >/dev/null && command -v npm >/dev/null; then exit 0; fi
echo "installing Node.js and npm"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
