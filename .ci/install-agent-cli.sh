#!/usr/bin/env bash
# Install a pinned agent CLI for the end-to-end tests (tests/e2e/test_e2e_agents.py).
#
#   bash .ci/install-agent-cli.sh codex     # prints the path of `codex` on its last line
#   bash .ci/install-agent-cli.sh gemini    # prints the path of `gemini` on its last line
#
# Installs npm @openai/codex@0.169.0 or @google/gemini-cli@0.61.0 (versions overridable with
# ORCHESTRA_CODEX_VERSION / ORCHESTRA_GEMINI_VERSION) into a folder of its own under the
# end-to-end cache, ${ORCHESTRA_E2E_CACHE:-<repo>/.cache/claude-code}/agents/<name>-<version>,
# next to Claude Code's (see install-claude-code.sh). Codex's npm package carries its native
# binary in an optional dependency; Gemini CLI is a Node bundle (Node 20+). Install scripts
# of their dependencies (node-pty, keytar: native builds) are not needed headless.
#
# Idempotent: when the pinned version answers --version, nothing is downloaded. Exits
# non-zero with a message on stderr when it cannot install.
set -euo pipefail

name="${1:-}"
case "$name" in
    codex) PACKAGE="@openai/codex"; VERSION="${ORCHESTRA_CODEX_VERSION:-0.169.0}" ;;
    gemini) PACKAGE="@google/gemini-cli"; VERSION="${ORCHESTRA_GEMINI_VERSION:-0.61.0}" ;;
    *) echo "usage: $0 codex|gemini" >&2; exit 2 ;;
esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ORCHESTRA_E2E_CACHE:-$REPO/.cache/claude-code}/agents/$name-$VERSION"
BIN="$CACHE/node_modules/.bin/$name"

die() {
    echo "install-agent-cli: $*" >&2
    exit 1
}

works() {
    [[ -x "$BIN" ]] || return 1
    local out
    out="$("$BIN" --version 2>/dev/null </dev/null || true)"
    [[ "$out" == *"$VERSION"* ]]
}

if works; then
    echo "install-agent-cli: $PACKAGE@$VERSION already in $CACHE" >&2
    echo "$BIN"
    exit 0
fi

command -v npm >/dev/null 2>&1 \
    || die "npm is not on PATH; install Node.js and npm (Node 20+) to run the end-to-end tests"
mkdir -p "$CACHE" || die "cannot create the cache folder $CACHE"

# One installer at a time per cache folder (parallel test runs).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.install.lock"
    flock 9
    if works; then
        echo "$BIN"
        exit 0
    fi
fi

echo "install-agent-cli: installing $PACKAGE@$VERSION into $CACHE" >&2
start=$(date +%s)
if ! npm install --prefix "$CACHE" --no-audit --no-fund --ignore-scripts \
        "$PACKAGE@$VERSION" >&2; then
    die "npm install --prefix $CACHE $PACKAGE@$VERSION failed (is the npm registry reachable?)"
fi
echo "install-agent-cli: npm install took $(( $(date +%s) - start )) s" >&2
works || die "installed $PACKAGE@$VERSION, but $BIN --version does not answer $VERSION"
echo "$BIN"
