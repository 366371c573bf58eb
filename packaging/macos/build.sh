#!/usr/bin/env bash
# macOS: omemo-desktop.app (PyInstaller) and a drag-to-Applications disk image (hdiutil).
#   bash packaging/macos/build.sh          (on a Mac; env PYTHON, default python3 >= 3.11)
# Output: dist/omemo-desktop-VERSION.dmg. The app is only ad-hoc signed (PyInstaller does
# that): Gatekeeper asks before the first start. Signing with a Developer ID and notarising
# (codesign, xcrun notarytool, xcrun stapler) need Apple credentials; see packaging/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -m pip install --quiet -e . "pyinstaller>=6.0"
VERSION=$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
WORK=build/macos
rm -rf "$WORK"
mkdir -p "$WORK" dist

# The .icns from the committed PNGs (the spec reads build/macos/omemo-desktop.icns).
ICONSET=$WORK/omemo-desktop.iconset
mkdir -p "$ICONSET"
png() { echo "resources/icons/hicolor/${1}x${1}/apps/omemo-desktop.png"; }
for size in 16 32 128 256 512; do
  cp "$(png "$size")" "$ICONSET/icon_${size}x${size}.png"
done
cp "$(png 32)" "$ICONSET/icon_16x16@2x.png"
cp "$(png 64)" "$ICONSET/icon_32x32@2x.png"
cp "$(png 256)" "$ICONSET/icon_128x128@2x.png"
cp "$(png 512)" "$ICONSET/icon_256x256@2x.png"
iconutil -c icns "$ICONSET" -o "$WORK/omemo-desktop.icns"

"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$WORK/dist" --workpath "$WORK/work" packaging/omemo-desktop.spec
APP=$WORK/dist/omemo-desktop.app
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/omemo-desktop" --smoke

STAGE=$WORK/dmg
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG=dist/omemo-desktop-$VERSION.dmg
hdiutil create -volname "omemo-desktop $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
hdiutil verify "$DMG"
echo "$DMG"
