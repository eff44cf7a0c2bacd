#!/usr/bin/env bash
# What the browser suite (tests/browser, `make test-browser`) needs on top of `make setup`:
# Debian's Chromium, and Playwright for Python (the `browser` extra) to drive it. Playwright never
# downloads a browser here: the tests launch /usr/bin/chromium (CLIPGEN_CHROMIUM overrides it).
# Idempotent; installs Chromium with apt-get only when it is missing (needs root, ~80 s).
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM="${CLIPGEN_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    if [ "$CHROMIUM" != /usr/bin/chromium ]; then
        echo "CLIPGEN_CHROMIUM=$CHROMIUM is not an executable file" >&2
        exit 1
    fi
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
"$CHROMIUM" --version
bash scripts/setup.sh dev,browser
