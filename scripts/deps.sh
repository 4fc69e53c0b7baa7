#!/bin/sh
# Installs the Debian packages nudge needs when they are missing, so that
# `make check` and `make demo` are one command on a fresh Debian 12 machine.
# Usage: scripts/deps.sh build|bench|fuzz
# (chromium: the supervisors' page test loads /report in a real headless
# browser, tests/integration/test_page.py.)
set -eu

build="build-essential pkg-config libhiredis-dev libjansson-dev libpcre2-dev
libcurl4-openssl-dev libesmtp-dev check libsubunit-dev libmicrohttpd-dev
libinih-dev libssl-dev redis-server redis-tools python3 python3-redis python3-aiosmtpd python3-yaml
ca-certificates openssl procps tzdata mandoc
chromium fonts-dejavu-core"
bench="nodejs npm curl"
fuzz="clang libclang-rt-14-dev"

case "${1:-build}" in
build) want=$build ;;
bench) want="$build $bench" ;;
fuzz)  want="$build $fuzz" ;;
*) echo "usage: $0 build|bench|fuzz" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	# a node that brings its own npm (NodeSource's) conflicts with Debian's
	[ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Debian starts the redis-server service on install; nudge's tests and demo
# start their own servers on free ports and never use it.
$sudo apt-get install -y -qq --no-install-recommends $missing
