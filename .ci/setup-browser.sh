#!/usr/bin/env bash
# CI: Debian's chromium for tests/test_app_browser.py (Playwright drives it; no `playwright install`).
# Idempotent: does nothing when /usr/bin/chromium is already there; needs root (or sudo).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium
/usr/bin/chromium --version
