#!/bin/sh
# Copies files and folders of SRC into DEST for `make install`, with the
# modes an installed tree wants (folders 0755, files 0644), whatever the
# checkout's umask gave them.
#   scripts/install-tree.sh SRC DEST MODE NAME...
# MODE says what happens to a NAME already in DEST:
#   always     replaced (the examples in share/doc)
#   if-absent  left alone, the whole NAME: an operator's config, rules and
#              templates are never overwritten, and example rules never
#              start sending beside theirs
#   each       NAME is a folder: each file of it copied where absent (the
#              holiday calendars: next year's file arrives, edited ones stay)
set -eu
[ $# -ge 4 ] || { echo "usage: $0 SRC DEST always|if-absent|each NAME..." >&2; exit 2; }
src=$1 dest=$2 mode=$3
shift 3
case $mode in always|if-absent|each) ;; *) echo "$0: bad mode $mode" >&2; exit 2 ;; esac

copy() { # FROM TO: a file or a whole folder
	if [ -d "$1" ]; then
		install -d -m 755 "$2"
		for f in "$1"/* "$1"/.[!.]*; do
			[ -e "$f" ] || continue
			copy "$f" "$2/$(basename "$f")"
		done
	else
		install -m 644 "$1" "$2"
	fi
}

install -d -m 755 "$dest"
for name in "$@"; do
	from=$src/$name
	to=$dest/$name
	[ -e "$from" ] || { echo "$0: $from: no such file" >&2; exit 1; }
	case $mode in
	always)
		rm -rf "$to"
		copy "$from" "$to"
		;;
	if-absent)
		if [ -e "$to" ]; then
			echo "install: $to exists: kept"
		else
			copy "$from" "$to"
		fi
		;;
	each)
		install -d -m 755 "$to"
		for f in "$from"/*; do
			[ -e "$to/$(basename "$f")" ] || copy "$f" "$to/$(basename "$f")"
		done
		;;
	esac
done
