#!/bin/sh
# The system packages `make demo` and `make test` need, installed when they are missing.
#
#   sh tools/system-packages.sh venv chromium
#
#   venv      Debian's python3-venv, when $PYTHON (default python3) cannot create a virtual
#             environment (Debian ships ensurepip in that package, apart from Python itself);
#   chromium  Debian's chromium at $RANGEGUARD_CHROMIUM (default /usr/bin/chromium): the browser
#             tests drive it through Playwright, which never downloads a browser.
#
# When something is missing it is installed with apt-get, as root or through sudo when sudo needs
# no password; when that is not possible, one message says what is missing and the command that
# installs it, and the exit status is 2 (`make test` stops: a browser test is never skipped).
# When everything is present it prints nothing and does nothing, so running it again is harmless.
set -eu

PYTHON=${PYTHON:-python3}
CHROMIUM=${RANGEGUARD_CHROMIUM:-/usr/bin/chromium}

missing=""
for need in "$@"; do
    case $need in
        venv) "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$missing python3-venv" ;;
        chromium) [ -x "$CHROMIUM" ] || missing="$missing chromium" ;;
        *) echo "tools/system-packages.sh: unknown need '$need' (known: venv chromium)" >&2; exit 2 ;;
    esac
done
[ -n "$missing" ] || exit 0
missing=${missing# }

install="apt-get update && apt-get install -y --no-install-recommends $missing"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "rangeguard: missing $missing, and this machine has no apt-get to install it." >&2
    echo "  Install Python's venv module and Chromium with your package manager; if Chromium is not at" >&2
    echo "  /usr/bin/chromium, set RANGEGUARD_CHROMIUM=/path/to/chromium. Then run make test again." >&2
    exit 2
fi
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    sudo="sudo -n"
else
    echo "rangeguard: missing $missing (Debian packages the tests need); installing needs root." >&2
    echo "  Run as root:  $install" >&2
    echo "  (e.g. sudo sh -c '$install'), then make test again." >&2
    exit 2
fi

echo "rangeguard: installing $missing with apt-get (needed by make test; once only)"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing

case " $missing " in
    *" chromium "*)
        if [ ! -x "$CHROMIUM" ]; then
            echo "rangeguard: apt-get installed chromium, but $CHROMIUM is still missing;" >&2
            echo "  set RANGEGUARD_CHROMIUM to the browser's path and run make test again." >&2
            exit 2
        fi ;;
esac
