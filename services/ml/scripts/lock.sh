#!/usr/bin/env bash
# Re-pins the ML service's requirements.lock and requirements-dev.lock after a change to the direct
# pins in pyproject.toml, with the script every Portico Python package uses.
exec "$(dirname "$0")/../../kit-python/scripts/lock.sh" "$(dirname "$0")/.."
