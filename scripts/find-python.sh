#!/usr/bin/env bash
# Prints a Python >= 3.11 whose sqlite3 module can load extensions (SpatiaLite needs it).
# Builds made by pyenv often lack enable_load_extension; Debian's /usr/bin/python3 has it.
set -euo pipefail
for py in ${PYTHON:-} python3.13 python3.12 python3.11 python3 /usr/bin/python3; do
  command -v "$py" >/dev/null 2>&1 || continue
  if "$py" - <<'PY' 2>/dev/null; then
import sqlite3, sys, venv  # noqa: F401
assert sys.version_info >= (3, 11)
sqlite3.connect(":memory:").enable_load_extension(True)
PY
    command -v "$py"; exit 0
  fi
done
echo "find-python: no Python >= 3.11 with sqlite3 extension loading and venv found (install python3 python3-venv)" >&2
exit 1
