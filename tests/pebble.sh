# Sourced by tests/test.sh: Pebble, Let's Encrypt's RFC 8555 test CA (Debian package `pebble`),
# which the ACME tests start on loopback. A test that cannot start it fails; it never skips.
if ! command -v pebble >/dev/null 2>&1; then
  echo "Installing pebble (apt) ..." >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pebble >&2
fi
