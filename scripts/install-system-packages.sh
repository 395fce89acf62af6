#!/usr/bin/env bash
# Debian packages the checks need and PyPI cannot provide: a Chromium for the browser tests
# (we never run `playwright install`), a CJK font so Chinese renders instead of tofu boxes,
# a colour emoji font for the status cues (✅ ⚠️ ❌) that pages show beside colours, and
# poppler-utils (pdftotext) to read back the generated PDF reports, LibreOffice Calc to open
# every CSV export as a reader would (no cell may come out a formula), and nginx to test the
# reverse-proxy configuration in deploy/ for real, and Java 17 for the Spark rebuild.
# Installs only what is missing, and only as root; otherwise says what to install.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]] || missing+=(fonts-noto-cjk)
[[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]] || missing+=(fonts-noto-color-emoji)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v soffice >/dev/null || missing+=(libreoffice-calc)
[[ -x /usr/sbin/nginx ]] || missing+=(nginx)
# Java 17 for pyspark (make spark-check, python -m metrics refresh --engine spark).
compgen -G "/usr/lib/jvm/java-17-openjdk-*/bin/java" >/dev/null || missing+=(openjdk-17-jre-headless)
# Node and npm install axe-core (package.json), the accessibility check of the browser tests.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# Debian's own Python makes no venv without ensurepip.
"${PYTHON:-python3}" -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
