#!/usr/bin/env bash
# Installs everything Vigil needs to build, test and benchmark, from Debian packages.
# Idempotent: re-running it installs nothing new. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev
  # engine
  libhyperscan-dev libssl-dev zlib1g-dev libarchive-dev libzstd-dev liblzma-dev
  # later stages (updates, quarantine, daemon)
  libsodium-dev libsqlite3-dev
  # containers (lib/unpack/): mail, OLE2, PDF, CHM/SZDD/KWAJ
  libgmime-3.0-dev libgsf-1-dev libqpdf-dev libmspack-dev
  # container tests build their own archives with these
  zip p7zip-full cpio genisoimage gcab zstd xz-utils bzip2 arj nsis
  # updates: HTTP server/client, and nginx for the static-mirror test
  libcpp-httplib-dev nginx
  # jurisdiction policy, denied parties, fleet state (lib/policy/, lib/fleet/)
  libtomlplusplus-dev nlohmann-json3-dev libgeoip-dev geoip-database geoip-bin
  libpq-dev postgresql wrk
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # peers and oracles
  clamav clamav-testfiles yara ripgrep hyperfine time
  clamav-daemon clamdscan
)

# Hyperscan is x86-only; Vectorscan provides the same API elsewhere.
case "$(dpkg --print-architecture)" in
  amd64|i386) ;;
  *) PACKAGES=("${PACKAGES[@]/libhyperscan-dev/libvectorscan-dev}") ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # clamav-freshclam would try to reach the network on install; keep it quiet.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all ${#PACKAGES[@]} packages present"
