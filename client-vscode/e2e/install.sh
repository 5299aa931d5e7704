#!/usr/bin/env bash
# Installs what the end-to-end tests need, once, into client-vscode/.e2e-cache/ (gitignored):
# code-server 4.100.3 (VS Code 1.100.3, the newest for Node 20) from npm, its native
# modules built against the local Node headers, ripgrep from Debian in place of its
# download. Chromium comes from Debian (playwright-core drives it; no browser download).
# About a minute and ~560 MB the first time; a stamp file makes later runs free.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.100.3
CACHE=.e2e-cache
PREFIX=$CACHE/code-server-$VERSION
STAMP=$PREFIX/.installed

debian_packages() {
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v rg >/dev/null || missing+=(ripgrep)
  [ -e /usr/include/krb5.h ] || [ -e /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
  command -v g++ >/dev/null && command -v make >/dev/null || missing+=(build-essential)
  [ -e /usr/include/node/node.h ] || missing+=(libnode-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

# The install is usable: the stamp of a finished install, and native modules that load in
# this Node (they are built against its headers: a new Node needs them built again).
installed() {
  [ -f "$STAMP" ] && node -e "require('./$PREFIX/node_modules/argon2');
    require('./$PREFIX/node_modules/code-server/lib/vscode/node_modules/node-pty')" 2>/dev/null
}

failed() {
  echo "e2e/install.sh: installing code-server $VERSION failed (the error is above; npm needs" \
    "its registry, or its cache from an earlier install). The partial install in $PREFIX is" \
    "removed; run e2e/install.sh again." >&2
  rm -rf "$PREFIX"
}

debian_packages
installed && exit 0
[ -f "$STAMP" ] && echo "code-server in $PREFIX does not load in Node $(node --version): installing again" >&2

echo "installing code-server $VERSION into $PREFIX (once)" >&2
trap failed ERR
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
export npm_config_nodedir=/usr npm_config_loglevel=error npm_config_fund=false npm_config_audit=false
npm install --prefix "$PREFIX" --no-save --ignore-scripts "code-server@$VERSION" >&2
# npm hoists code-server's own dependencies (argon2) next to it, under $PREFIX.
(cd "$PREFIX" && npm_config_build_from_source=true npm rebuild argon2 >&2)
(
  cd "$PREFIX/node_modules/code-server/lib/vscode"
  npm install --omit=dev --ignore-scripts >&2
  npm_config_yes=true npm rebuild @vscode/deviceid @vscode/spdlog native-watchdog kerberos @parcel/watcher node-pty >&2
  mkdir -p node_modules/@vscode/ripgrep/bin
  ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  # The rest of code-server's postinstall.sh, by hand.
  rm -rf node_modules.asar && ln -s node_modules node_modules.asar
  (cd bin/remote-cli && rm -f code-server && ln -s code-linux.sh code-server)
  (cd bin/helpers && rm -f browser.sh && ln -s browser-linux.sh browser.sh)
  cd extensions
  npm install --omit=dev --ignore-scripts >&2
)
trap - ERR
touch "$STAMP"
