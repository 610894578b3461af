#!/usr/bin/env bash
# Install what the tests need, then lint and run the whole suite.
#   bash tests/run.sh            # everything
#   bash tests/run.sh -k browser # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check \
    -r requirements.txt -r tests/requirements.txt

# The browser tests drive Debian's Chromium: Playwright's own browser download cannot
# work offline, so install the distribution's package when it is missing. The deploy tests
# put Debian's HAProxy in front of the replicas; the page's own scripts are checked under
# Node.js (tests/test_web.py).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if ((${#missing[@]})); then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

python -m ruff check .
python -m ruff format --check .
python -m pytest "$@"
