# Sourced by tests/test.sh and tests/demo.sh: the AWS emulator (moto, server mode) in .venv-moto.
# Pinned: the tests rely on 5.2.5's ListDistributions summary (5.2.1 omits aliases and origins).
MOTO_VERSION=5.2.5
if ! .venv-moto/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "Installing moto[server]==$MOTO_VERSION into .venv-moto ..." >&2
  python3 -m venv .venv-moto
  .venv-moto/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
