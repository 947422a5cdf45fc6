#!/bin/sh
# Runs a ui test under a private X server and D-Bus session: `xvfb-run -a dbus-run-session -- TEST`.
# Without xvfb-run or dbus-run-session the test is skipped (exit 77), never failed.
if ! command -v xvfb-run >/dev/null 2>&1; then
  echo "SKIP: xvfb-run not found (Debian: apt install xvfb xauth)" >&2
  exit 77
fi
if ! command -v dbus-run-session >/dev/null 2>&1; then
  echo "SKIP: dbus-run-session not found (Debian: apt install dbus)" >&2
  exit 77
fi
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$@"
