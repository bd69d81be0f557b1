#!/usr/bin/env bash
# libkyso's ABI, before and after packaging freezes it: the functions kyso.h and
# kyso_err.h declare, the version script client/libkyso.map, the symbols the shared
# library exports and the Debian symbols file debian/libkyso1.symbols name the same
# functions; every one has its return contract in a comment right above it; kyso.h
# defines no struct a program could lay out. A function added to the API without the
# map, or to the map without the symbols file, fails here with what to add.
. "$(dirname "$0")/../lib/common.sh"

h=$T_TOP/client/kyso.h
declared() {  # the functions kyso.h and kyso_err.h declare (the preprocessor drops comments)
	cc -E -P -I"$T_TOP/common" "$h" | tr '\n' ' ' | tr ';' '\n' |
		grep -oE '\bkyso_[a-z0-9_]+ *\(' | grep -oE 'kyso_[a-z0-9_]+' | sort -u
}
map=$(sed -n 's/^[[:space:]]*\(kyso_[a-z0-9_]*\);$/\1/p' "$T_TOP/client/libkyso.map" | sort)
decl=$(declared)
t_eq "kyso.h and kyso_err.h declare exactly the functions of libkyso.map" "" \
	"$(diff <(echo "$decl") <(echo "$map") | sed -n 's/^</declared, not in client\/libkyso.map:/p; s/^>/in the map, not declared:/p')"
so=$(nm -D --defined-only "$BUILD/libkyso.so.1" | awk '{print $3}' | grep -v '^KYSO_1$' | sed 's/@.*//' | sort)
t_eq "libkyso.so.1 exports exactly them" "" "$(diff <(echo "$map") <(echo "$so") || true)"
sym=$(sed -n 's/^ \(kyso_[a-z0-9_]*\)@KYSO_[0-9.]* .*/\1/p' "$T_TOP/debian/libkyso1.symbols" | sort)
t_eq "debian/libkyso1.symbols lists exactly them (add ' NAME@NODE VERSION' for a new one)" "" \
	"$(diff <(echo "$map") <(echo "$sym") | sed -n 's/^</missing from debian\/libkyso1.symbols:/p; s/^>/in the symbols file, not in the map:/p')"
t_eq "the symbols file belongs to the soname the Makefile builds" \
	"$(sed -n 's/^LIBKYSO_SONAME := //p' "$T_TOP/Makefile") libkyso1" \
	"$(head -1 "$T_TOP/debian/libkyso1.symbols" | awk '{print $1, $2}')"
# every prototype: a comment ends on the line above it (or above the #define block)
uncommented=$(awk '
	/^\/\*/ || /^ \*/ { c = 1; next }
	/^[a-z].*kyso_[a-z0-9_]+\(/ { if (!c) { match($0, /kyso_[a-z0-9_]+\(/); print substr($0, RSTART, RLENGTH - 1) } ; c = 0; next }
	/^#define KYSO_/ { next }
	/^$/ { c = 0; next }
	{ }' "$h")
t_eq "every function of kyso.h has its contract in a comment right above it" "" "$uncommented"
t_eq "kyso.h lays out no struct (the objects are opaque)" "" "$(grep -nE '^struct kyso_[a-z_]+ *\{' "$h" || true)"
t_match "kyso.h states the ABI policy" 'ABI: libkyso.so.1.*KYSO_1' "$(tr '\n' ' ' < "$h")"
t_done
