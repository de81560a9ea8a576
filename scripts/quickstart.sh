#!/usr/bin/env bash
# Quick start: installs what Vigil needs, builds it, and scans the directory
# you name with the default database (an installed Vigil or ClamAV database
# if there is one, else the EICAR test signature built into vigil).
#   scripts/quickstart.sh DIRECTORY
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-}
if [ -z "$target" ]; then
  echo "usage: scripts/quickstart.sh DIRECTORY" >&2
  exit 2
fi
scripts/setup.sh
scripts/build.sh
set +e
build/bin/vigil scan "$target"
rc=$?
echo "vigil scan exit code: $rc (0 clean, 1 found, 2 error)"
exit $rc
