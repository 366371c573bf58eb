#!/usr/bin/env bash
# Builds the Debian package: the PyInstaller one-folder app under /opt/omemo-desktop, commands
# in /usr/bin, a .desktop entry that handles xmpp: links, hicolor icons and AppStream metadata.
#
#   bash packaging/build_deb.sh [OUT_DIR]      (default dist/; prints the .deb's path last)
#
# Env: PYTHON (default .venv/bin/python, needs the `test` extra for PyInstaller),
#      DEB_COMPRESSION (zstd, the default: ~20 s, ~66 MB; xz: ~50 MB but ~100 s more).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
OUT=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
COMPRESSION=${DEB_COMPRESSION:-zstd}
APP_ID=io.github.omemo_desktop.OmemoDesktop

for tool in dpkg-deb dpkg-query desktop-file-validate appstreamcli; do
  command -v "$tool" >/dev/null || { echo "build_deb: $tool is missing (scripts/install-system-deps.sh test)" >&2; exit 1; }
done
"$PYTHON" -c 'import PyInstaller' 2>/dev/null ||
  { echo "build_deb: PyInstaller is missing: $PYTHON -m pip install -e '.[test]'" >&2; exit 1; }

VERSION=$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(dpkg --print-architecture)
METAINFO=packaging/linux/$APP_ID.metainfo.xml
grep -q "<release version=\"$VERSION\"" "$METAINFO" ||
  { echo "build_deb: $METAINFO has no <release version=\"$VERSION\">: add it" >&2; exit 1; }
desktop-file-validate packaging/linux/omemo-desktop.desktop
appstreamcli validate --no-net "$METAINFO" >/dev/null

start=$(date +%s)
mkdir -p build
WORK=$(mktemp -d "$ROOT/build/deb.XXXXXX")  # private: several builds may run at once
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$WORK/pyinstaller" --workpath "$WORK/pyinstaller-work" packaging/omemo-desktop.spec

ROOTFS=$WORK/root
mkdir -p "$ROOTFS/opt" "$ROOTFS/usr/bin" "$ROOTFS/DEBIAN"
mv "$WORK/pyinstaller/omemo-desktop" "$ROOTFS/opt/omemo-desktop"
# One binary, two commands: the launcher picks the CLI when started as *-cli.
ln -s /opt/omemo-desktop/omemo-desktop "$ROOTFS/usr/bin/omemo-desktop"
ln -s /opt/omemo-desktop/omemo-desktop "$ROOTFS/usr/bin/omemo-desktop-cli"
install -Dm644 packaging/linux/omemo-desktop.desktop "$ROOTFS/usr/share/applications/omemo-desktop.desktop"
install -Dm644 "$METAINFO" "$ROOTFS/usr/share/metainfo/$APP_ID.metainfo.xml"
(cd resources/icons && find hicolor -type f) | while read -r icon; do
  install -Dm644 "resources/icons/$icon" "$ROOTFS/usr/share/icons/$icon"
done
install -Dm644 packaging/linux/copyright "$ROOTFS/usr/share/doc/omemo-desktop/copyright"
cat <<EOF | gzip -9n >"$ROOTFS/usr/share/doc/omemo-desktop/changelog.gz"
omemo-desktop ($VERSION) unstable; urgency=medium

  * Release $VERSION; see the project's history for the changes.

 -- The omemo-desktop developers <maintainers@omemo-desktop.invalid>  $(date -R)
EOF
# Shared libraries and Python extensions are loaded, not run (lintian: shared-library-is-executable).
find "$ROOTFS/opt/omemo-desktop/_internal" -type f -name '*.so*' -exec chmod 644 {} +

# Depends: the system libraries the bundle still loads (PyInstaller leaves out libc, GL and
# friends on purpose), found with ldd and mapped to their packages, like dpkg-shlibdeps.
BUNDLE=$ROOTFS/opt/omemo-desktop
depends=$(
  find "$BUNDLE" -type f \( -name '*.so*' -o -name omemo-desktop \) -print0 |
    LD_LIBRARY_PATH="$BUNDLE/_internal:$BUNDLE/_internal/PySide6/Qt/lib" xargs -0 -n 50 ldd 2>/dev/null |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | grep -v "^$BUNDLE/" | sort -u |
    while read -r lib; do
      dpkg-query -S "$lib" 2>/dev/null || dpkg-query -S "$(readlink -f "$lib")" 2>/dev/null || true
    done | cut -d: -f1 | sort -u | paste -sd, - | sed 's/,/, /g'
)
# The build machine's glibc is the oldest the bundle is known to run on.
glibc=$(dpkg-query -W -f='${Version}' libc6 | cut -d- -f1)
depends=$(echo "$depends" | sed "s/\blibc6\b/libc6 (>= $glibc)/")

installed_kb=$(du -sk --exclude=DEBIAN "$ROOTFS" | cut -f1)
cat >"$ROOTFS/DEBIAN/control" <<EOF
Package: omemo-desktop
Version: $VERSION
Architecture: $ARCH
Maintainer: The omemo-desktop developers <maintainers@omemo-desktop.invalid>
Installed-Size: $installed_kb
Depends: $depends
Recommends: gnome-keyring | keepassxc | kwalletmanager, fonts-dejavu-core | fonts-noto-core
Section: net
Priority: optional
Description: desktop XMPP messenger with OMEMO end-to-end encryption
 Chat with any XMPP account, end-to-end encrypted with OMEMO in both versions in
 use (urn:xmpp:omemo:2 and the legacy axolotl one), under one identity key.
 Nothing is encrypted to a device you have not decided to trust.
 .
 This package bundles its own Python and Qt under /opt/omemo-desktop.
EOF
(cd "$ROOTFS" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | xargs -0 md5sum >DEBIAN/md5sums)
# The hicolor theme's and the desktop database's dpkg triggers refresh their caches:
# no maintainer scripts needed.

DEB=$OUT/omemo-desktop_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Z"$COMPRESSION" --build "$ROOTFS" "$DEB" >/dev/null
end=$(date +%s)
echo "build_deb: $(basename "$DEB"): $(du -h "$DEB" | cut -f1) ($((installed_kb / 1024)) MiB installed), built in $((end - start)) s" >&2
echo "$DEB"
