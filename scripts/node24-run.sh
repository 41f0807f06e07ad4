#!/usr/bin/env bash
# Runs node with Node.js 24 (installed on first use by node24.sh), whatever node the shell has:
# npm scripts call this so `npm start` and `npm test` work from any shell.
source "$(dirname "$0")/node24.sh" || exit 1
exec node "$@"
