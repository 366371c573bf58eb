#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the app and its tests need, only when missing.
#   scripts/install-system-deps.sh run    -> what the GUI needs
#   scripts/install-system-deps.sh test   -> plus Prosody, gnome-keyring, Xvfb, dbus
set -euo pipefail
mode=${1:-run}
pkgs=(python3-venv libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libegl1 libxkbcommon-x11-0 libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-render-util0 libxcb-image0 libdbus-1-3 libfontconfig1)
if [ "$mode" = test ]; then
  pkgs+=(prosody lua-unbound gnome-keyring dbus dbus-x11 xvfb xauth imagemagick desktop-file-utils appstream)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing system packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the system Prosody on install; the tests run their own on other ports.
if [ "$mode" = test ] && command -v systemctl >/dev/null && systemctl is-active --quiet prosody 2>/dev/null; then
  $SUDO systemctl stop prosody || true
fi
exit 0
