#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly CLI (redocly.yaml: the recommended ruleset).
# Redocly is pinned and installed on first use into .tools/node/ (git-ignored) with npm.
# Usage: bash scripts/openapi-lint.sh            install if needed, then lint
#        bash scripts/openapi-lint.sh --install  only install (scripts/setup.sh)
# Exit: 0 no errors (warnings are printed), 1 errors, 77 no node/npm on PATH (CTest: skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

REDOCLY_VERSION=1.34.5
dir=.tools/node
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "openapi-lint: node and npm are needed (scripts/setup.sh installs them)" >&2
  exit 77
fi

installed_version() {
  node -e "try { console.log(require(process.argv[1]).version) } catch (e) {}" \
    "$PWD/$dir/node_modules/@redocly/cli/package.json"
}

mkdir -p "$dir"
# One installer at a time (parallel CTest runs, setup and test at once).
exec 9>"$dir/.install.lock"
flock 9
if [ "$(installed_version)" != "$REDOCLY_VERSION" ]; then
  echo "openapi-lint: installing @redocly/cli@$REDOCLY_VERSION into $dir" >&2
  npm install --prefix "$dir" --no-audit --no-fund --save-exact --loglevel=error \
    "@redocly/cli@$REDOCLY_VERSION" >&2
fi
flock -u 9

if [ "${1:-}" = "--install" ]; then
  exit 0
fi
exec "$dir/node_modules/.bin/redocly" lint --config redocly.yaml docs/openapi.yaml
