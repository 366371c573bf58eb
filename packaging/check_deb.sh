#!/usr/bin/env bash
# CI check of the Debian package, run by `make test` after pytest:
# build the .deb, install it with apt, check what it put on the system, start the installed
# binary (--smoke, offscreen), run the installed CLI, purge it and check nothing is left.
#
#   bash packaging/check_deb.sh            (as root, or with sudo; ~40 s)
#
# It installs into the real system: a machine that has omemo-desktop installed otherwise gets
# it purged at the end. Runs of this script on one machine take turns (flock).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
APP_ID=io.github.omemo_desktop.OmemoDesktop
passed=0
failed=0

check() { # check "what" command...
  local what=$1
  shift
  if "$@" >"$TMP/out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what"
    sed 's/^/     | /' "$TMP/out" | tail -20
  fi
}

TMP=$(mktemp -d)
exec 9>/tmp/omemo-desktop-check-deb.lock
flock 9
cleanup() {
  if dpkg-query -W -f='${Status}' omemo-desktop 2>/dev/null | grep -q installed; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y -qq omemo-desktop >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

started=$(date +%s)
DEB=$(bash packaging/build_deb.sh "$TMP/out-deb" | tail -1)
built=$(date +%s)
VERSION=$(dpkg-deb -f "$DEB" Version)

install_deb() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$DEB"
}
check "apt-get install ./$(basename "$DEB")" install_deb
check "dpkg says it is installed" dpkg-query -W -f='${Status}\n' omemo-desktop
check "/usr/bin/omemo-desktop -> /opt/omemo-desktop" \
  test "$(readlink -f /usr/bin/omemo-desktop)" = /opt/omemo-desktop/omemo-desktop
check "installed .desktop entry is valid" \
  desktop-file-validate /usr/share/applications/omemo-desktop.desktop
check "installed AppStream metainfo is valid" \
  appstreamcli validate --no-net /usr/share/metainfo/$APP_ID.metainfo.xml
check ".desktop entry handles xmpp: links" \
  grep -q '^MimeType=x-scheme-handler/xmpp;' /usr/share/applications/omemo-desktop.desktop
icons_present() {
  for size in 16 22 24 32 48 64 128 256 512; do
    test -s "/usr/share/icons/hicolor/${size}x${size}/apps/omemo-desktop.png" || return 1
  done
  test -s /usr/share/icons/hicolor/scalable/apps/omemo-desktop.svg
}
check "hicolor icons (16..512 and scalable)" icons_present
if command -v update-desktop-database >/dev/null; then
  # desktop-file-utils' dpkg trigger registered the handler
  check "xmpp: scheme registered in mimeinfo.cache" \
    grep -q '^x-scheme-handler/xmpp=.*omemo-desktop.desktop' /usr/share/applications/mimeinfo.cache
fi

# A clean environment, far from the source tree: only the installed bundle can answer.
run_installed() {
  (cd "$TMP" && exec env -i PATH=/usr/bin:/bin HOME="$TMP/home" QT_QPA_PLATFORM=offscreen \
    XDG_RUNTIME_DIR="$TMP/run" TMPDIR="$TMP/run" OMEMO_DESKTOP_DATA_DIR="$TMP/data" "$@")
}
mkdir -p "$TMP/home" "$TMP/run" && chmod 700 "$TMP/run"
smoke() { run_installed timeout 60 omemo-desktop --smoke; }
check "installed omemo-desktop --smoke exits 0" smoke
version_matches() { run_installed omemo-desktop --version | grep -qx "omemo-desktop $VERSION"; }
check "installed omemo-desktop --version says $VERSION" version_matches
cli_runs() { run_installed omemo-desktop-cli --data-dir "$TMP/cli-data" account list; }
check "installed omemo-desktop-cli loads the service (account list)" cli_runs
# A second launch hands its link to the first (QtNetwork's local socket in the bundle). The
# first has no keyring here and waits in its "No keyring" message: it still takes links.
hand_over() {
  (cd "$TMP" && exec env -i PATH=/usr/bin:/bin HOME="$TMP/home" QT_QPA_PLATFORM=offscreen \
    XDG_RUNTIME_DIR="$TMP/run" TMPDIR="$TMP/run" OMEMO_DESKTOP_DATA_DIR="$TMP/data" \
    omemo-desktop --log-level INFO >"$TMP/first.log" 2>&1) &
  local first=$! tries=0 # the app itself (exec), so kill ends it
  until grep -q "listening for later launches" "$TMP/first.log"; do
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] && kill -0 "$first" 2>/dev/null || { kill "$first" 2>/dev/null; cat "$TMP/first.log"; return 1; }
    sleep 0.1
  done
  local ok=0
  run_installed timeout 30 omemo-desktop 'xmpp:bob@example.org?message;body=hi' || ok=1
  for _ in $(seq 100); do
    grep -q "handed over 'xmpp:bob@example.org?message;body=hi'" "$TMP/first.log" && break
    sleep 0.1
  done
  grep -q "handed over 'xmpp:bob@example.org" "$TMP/first.log" || ok=1
  kill "$first" 2>/dev/null
  wait "$first" 2>/dev/null || true
  [ "$ok" -eq 0 ] || cat "$TMP/first.log"
  return "$ok"
}
check "a second installed launch hands its xmpp: link to the first" hand_over
smoke_ms=$(run_installed bash -c 's=$(date +%s%N); omemo-desktop --smoke >/dev/null 2>&1; echo $((($(date +%s%N)-s)/1000000))')

purge() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get purge -y -qq omemo-desktop; }
check "apt-get purge omemo-desktop" purge
check "nothing left in /opt/omemo-desktop" test ! -e /opt/omemo-desktop
check "no commands left in /usr/bin" test ! -e /usr/bin/omemo-desktop -a ! -L /usr/bin/omemo-desktop-cli
nothing_owned() { ! dpkg-query -W omemo-desktop 2>/dev/null | grep -q .; }
check "dpkg no longer knows the package" nothing_owned

finished=$(date +%s)
echo "check_deb: $(basename "$DEB") $(du -h "$DEB" | cut -f1), $(dpkg-deb -f "$DEB" Installed-Size) KiB installed;" \
  "build $((built - started)) s, install+checks+purge $((finished - built)) s, smoke run ${smoke_ms} ms"
echo "check_deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
