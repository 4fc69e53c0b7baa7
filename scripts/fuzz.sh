#!/bin/sh
# Builds each libFuzzer target given (tests/fuzz/fuzz_*.c) with clang and
# the sanitizers, and runs it for SECONDS. Usage: scripts/fuzz.sh SECONDS FILE...
set -eu
seconds=$1
shift
cd "$(dirname "$0")/.."
out=build/fuzz
mkdir -p "$out"
# the Makefile's PKGS
pkgs="hiredis jansson libpcre2-8 libcurl libesmtp-1.0 libmicrohttpd inih libssl libcrypto"
srcs=$(ls core/*.c rules/*.c templates/*.c queues/*.c channels/*.c 2>/dev/null)
status=0
for target in "$@"; do
	name=$(basename "$target" .c)
	echo "== $name ($seconds s)"
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. $(pkg-config --cflags $pkgs) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o "$out/$name" "$target" $srcs $(pkg-config --libs $pkgs) -lpthread -lm
	mkdir -p "fuzz-corpus/$name"
	seed="tests/fuzz/corpus/$name"
	[ -d "$seed" ] || seed=""
	"$out/$name" -max_total_time="$seconds" -timeout=10 \
		"fuzz-corpus/$name" $seed || status=1
done
exit $status
