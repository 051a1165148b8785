#!/usr/bin/env bash
# Install the real Claude Code CLI for the end-to-end tests (tests/e2e).
#
#   bash .ci/install-claude-code.sh        # prints the path of `claude` on its last line
#
# Installs npm @anthropic-ai/claude-code at a pinned version into a cache folder,
# ${ORCHESTRA_E2E_CACHE:-<repo>/.cache/claude-code}. The npm package is a thin
# wrapper: its optional dependency @anthropic-ai/claude-code-<platform> carries
# the native binary (about 400 MB), which the wrapper's postinstall hard-links
# over node_modules/@anthropic-ai/claude-code/bin/claude.exe, the target of
# node_modules/.bin/claude. If the postinstall did not run (npm may hold back
# install scripts), the binary inside the platform package is used instead.
#
# Idempotent: when a binary of the pinned version is already there, nothing is
# downloaded. Exits non-zero with a message on stderr when it cannot install.
# Node 20 only warns (EBADENGINE: the wrapper asks for Node >= 22); the native
# binary does not need Node at run time.
set -euo pipefail

CLAUDE_CODE_VERSION="${ORCHESTRA_CLAUDE_CODE_VERSION:-2.1.332}"
PACKAGE="@anthropic-ai/claude-code"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ORCHESTRA_E2E_CACHE:-$REPO/.cache/claude-code}"

die() {
    echo "install-claude-code: $*" >&2
    exit 1
}

# Print the first candidate binary that reports the pinned version.
find_binary() {
    local candidate out
    for candidate in \
        "$CACHE/node_modules/.bin/claude" \
        "$CACHE/node_modules/$PACKAGE/bin/claude.exe" \
        "$CACHE"/node_modules/"$PACKAGE"-*/claude; do
        [[ -f "$candidate" && -x "$candidate" ]] || continue
        out="$("$candidate" --version 2>/dev/null </dev/null || true)"
        if [[ "$out" == "$CLAUDE_CODE_VERSION "* || "$out" == "$CLAUDE_CODE_VERSION" ]]; then
            # Absolute path, without resolving the .bin symlink.
            echo "$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")"
            return 0
        fi
    done
    return 1
}

if bin="$(find_binary)"; then
    echo "install-claude-code: $PACKAGE@$CLAUDE_CODE_VERSION already in $CACHE" >&2
    echo "$bin"
    exit 0
fi

command -v npm >/dev/null 2>&1 \
    || die "npm is not on PATH; install Node.js and npm (Node 20+) to run the end-to-end tests"

mkdir -p "$CACHE" || die "cannot create the cache folder $CACHE"

# One installer at a time per cache folder (parallel test runs).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.install.lock"
    flock 9
    if bin="$(find_binary)"; then
        echo "$bin"
        exit 0
    fi
fi

echo "install-claude-code: installing $PACKAGE@$CLAUDE_CODE_VERSION into $CACHE (about 400 MB)" >&2
start=$(date +%s)
if ! npm install --prefix "$CACHE" --no-audit --no-fund "$PACKAGE@$CLAUDE_CODE_VERSION" >&2; then
    die "npm install --prefix $CACHE $PACKAGE@$CLAUDE_CODE_VERSION failed (is the npm registry reachable?)"
fi
echo "install-claude-code: npm install took $(( $(date +%s) - start )) s" >&2

if ! bin="$(find_binary)"; then
    {
        echo "install-claude-code: installed $PACKAGE@$CLAUDE_CODE_VERSION but found no working claude binary."
        echo "  Looked at $CACHE/node_modules/.bin/claude and $CACHE/node_modules/$PACKAGE-*/claude."
        echo "  The native binary comes from the optional dependency $PACKAGE-<platform>;"
        echo "  npm skips it with --omit=optional (or omit=optional in .npmrc), and it exists"
        echo "  only for linux/darwin/win32 on x64/arm64."
        ls -la "$CACHE/node_modules/@anthropic-ai" 2>&1 | sed 's/^/    /'
    } >&2
    exit 1
fi
echo "$bin"
