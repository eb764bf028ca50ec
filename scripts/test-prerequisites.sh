#!/usr/bin/env bash
# Runs before `npm test`: the suite drives DCMTK's real DICOM clients, Debian's
# Chromium, openssl (test certificates), the DejaVu fonts (PDF letters) and qpdf (their structure check). What
# is missing is installed when this runs as root with apt-get; otherwise it stops
# at once and names the one command to run. No test is skipped for a missing tool.
set -euo pipefail

chromium=${KARTEI_CHROMIUM:-/usr/bin/chromium}
missing=()
command -v storescu >/dev/null || missing+=(dcmtk)
command -v openssl >/dev/null || missing+=(openssl)
[ -x "$chromium" ] || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v qpdf >/dev/null || missing+=(qpdf)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installiere für die Tests / installing for the tests: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi

cat >&2 <<MSG
Für die Tests fehlen Debian-Pakete / the tests need Debian packages: ${missing[*]}
Bitte einmal ausführen / run once:

  sudo apt-get install -y ${missing[*]}

(KARTEI_CHROMIUM names another Chromium binary.)
MSG
exit 1
