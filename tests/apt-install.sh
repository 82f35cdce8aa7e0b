#!/usr/bin/env bash
# Installs the Debian packages named (none named: nothing to do), as root
# or through sudo. The test scripts name only what they find missing.
#   tests/apt-install.sh poppler-utils zbar-tools
set -euo pipefail
(($#)) || exit 0
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
