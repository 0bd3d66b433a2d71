#!/usr/bin/env bash
# The test suite: `cargo test --workspace`, with any arguments passed on. The browser test
# (node/tests/browser.rs) drives Debian's chromium through chromedriver, so they are
# installed first when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x /usr/bin/chromedriver || ! -x /usr/bin/chromium ]]; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
    packages=(chromium chromium-driver)
    echo "installing ${packages[*]} for the browser test" >&2
    # The package lists are refreshed only when they turn out to be stale.
    if ! "${apt[@]}" install -y --no-install-recommends "${packages[@]}"; then
        "${apt[@]}" update
        "${apt[@]}" install -y --no-install-recommends "${packages[@]}"
    fi
fi

exec cargo test --workspace "$@"
