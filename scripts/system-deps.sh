#!/usr/bin/env bash
# Installs the Debian packages the test suite needs: PostgreSQL 15 (integration tests), Chromium
# (browser tests through Playwright) and the DejaVu fonts (Vietnamese text in PDF reports).
# Safe to re-run; installs only what is missing.
set -euo pipefail
need=()
command -v /usr/lib/postgresql/15/bin/initdb >/dev/null 2>&1 || need+=(postgresql-15)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(npm)
# A font with every Vietnamese glyph, for PDF reports.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${need[*]}. Install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
