#!/bin/sh
# Screenshots of SCEdit Studio under Xvfb with the tiny model (not run in CI):
#   tests/ui/screenshot.sh [BUILD_DIR] [OUTDIR]     (defaults: build, screenshots)
# Writes 01-empty.png, 02-conditions.png, 03-live.png, 04-inpaint.png and 05-preferences.png, rendered by
# GTK itself (widget → GskRenderer → PNG). The metainfo's screenshots are made with OUTDIR data/screenshots.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=${2:-screenshots}
ninja -C "$build" tests/ui/sc-screenshot data/gschemas.compiled >/dev/null
export SC_SHARED_DIR="${SC_SHARED_DIR:-$root/../shared}"
export GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR="$build/data" GDK_DEBUG=no-portals NO_AT_BRIDGE=1 GSK_RENDERER=${GSK_RENDERER:-cairo}
exec "$root/tests/ui/run-under-display.sh" "$build/tests/ui/sc-screenshot" "$out"
