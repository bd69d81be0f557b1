#!/usr/bin/env bash
# Every sentence a person reads is marked for translation, and po/vi.po translates every
# one: tests/tools/i18n_scan.py reads the C sources and fails on a string for people that
# is not marked (_(), N_(), P_(), C_()) and not listed in po/untranslated.txt with its
# reason; every file that marks strings is in po/POTFILES.in; po/kyso.pot is what xgettext
# extracts now; po/vi.po, merged with that, has 0 untranslated and 0 fuzzy messages, its
# format directives match (msgfmt -c), and its sentences are Vietnamese. Each check is
# also shown failing on a broken copy, so that none of them passes by accident.
. "$(dirname "$0")/../lib/common.sh"
PY=/usr/bin/python3
SCAN=$T_TOP/tests/tools/i18n_scan.py
cd "$T_TOP" || exit 1

for tool in xgettext msgfmt msgmerge msgcat; do
	if ! command -v $tool >/dev/null 2>&1; then
		t_skip "translations" "$tool is not installed (gettext: packaging/deps.sh build)"
		t_done; exit 0
	fi
done

# ---- the sources: every string for people is marked ----
SRCS=$(ls admin/*.[ch] agent/*.[ch] client/*.[ch] common/*.[ch] pkcs11/*.[ch] \
	kyso-pkcs11/*.[ch] browser/host/*.[ch] p11rpc/*.[ch])
out=$($PY "$SCAN" --allow po/untranslated.txt $SRCS 2>&1); rc=$?
t_eq "i18n_scan.py: no unmarked string for people in $(echo "$SRCS" | wc -w) source files" \
	"0" "$rc"
[ $rc -eq 0 ] || echo "$out" | sed 's/^/#   /'

# the scanner finds one when there is one (a copy of kyso.c with a new unmarked sentence)
mkdir -p "$T_DIR/src/client"
cp client/kyso.c "$T_DIR/src/client/kyso.c"
printf '%s\n' 'static void extra(void) { fprintf(stderr, "kyso: the token is on fire\n"); }' \
	>> "$T_DIR/src/client/kyso.c"
out=$(cd "$T_DIR/src" && $PY "$SCAN" --allow "$T_TOP/po/untranslated.txt" client/kyso.c 2>&1)
t_match "  ... and reports an unmarked sentence, with its file and line" \
	'client/kyso.c:[0-9]+: "kyso: the token is on fire' "$out"
printf '%s\n' 'static void extra2(void) { puts(_("the token is cool")); log_info("a log line stays English"); }' \
	>> "$T_DIR/src/client/kyso.c"
out=$(cd "$T_DIR/src" && $PY "$SCAN" --allow "$T_TOP/po/untranslated.txt" client/kyso.c 2>&1)
t_fail "  ... but not a marked one, nor a log line" grep -E 'cool|log line' <<<"$out"
printf 'client/kyso.c\tno such string anywhere\ta stale line\n' > "$T_DIR/allow"
out=$(cd "$T_DIR/src" && $PY "$SCAN" --allow "$T_DIR/allow" client/kyso.c 2>&1)
t_match "  ... and an allow-list line that no longer matches" 'no longer in client/kyso.c' "$out"

# every file that marks strings is read by xgettext, and every file listed exists
# (common/i18n.h defines the marks: its comment shows them)
marked=$(grep -l -E '\b(N_|P_|C_|_)\("' $SRCS | grep -v '^common/i18n\.h$' | sort)
listed=$(sed -e 's/#.*//' po/POTFILES.in | grep . | sort)
t_eq "po/POTFILES.in lists exactly the files that mark strings" "$marked" "$listed"

# ---- the template is what xgettext extracts now ----
make -s pot POT_OUT="$T_DIR/kyso.pot" >"$T_DIR/xgettext.log" 2>&1
t_ok "xgettext extracts the strings (make pot)" test -s "$T_DIR/kyso.pot"
ids() { msgcat --no-location --no-wrap --sort-output "$1" 2>/dev/null | grep -v '^#'; }
n=$(grep -c '^msgid "' "$T_DIR/kyso.pot")
t_eq "  ... po/kyso.pot holds the same $((n - 1)) messages (run 'make update-po' if not)" \
	"$(ids "$T_DIR/kyso.pot")" "$(ids po/kyso.pot)"
t_ok "  ... more than 700 of them (the CLI, kyso-admin, the dialogs, libkyso)" test "$n" -gt 700
if grep -q 'warning' "$T_DIR/xgettext.log"; then
	t_flunk "  ... without a warning from xgettext" "$(head -n 5 "$T_DIR/xgettext.log")"
else
	t_pass "  ... without a warning from xgettext"
fi

# ---- vi.po: complete, checked, Vietnamese ----
# stats FILE: msgfmt's statistics of FILE merged with the template extracted now
stats() {
	msgmerge --quiet --no-fuzzy-matching --no-wrap -o "$T_DIR/merged.po" "$1" "$T_DIR/kyso.pot" &&
		LC_ALL=C msgfmt -c --statistics -o /dev/null "$T_DIR/merged.po" 2>&1
}
s=$(stats po/vi.po)
t_match "po/vi.po translates every message: $s" '^[0-9]+ translated messages\.$' "$s"
t_ok "  ... msgfmt -c: the format directives of every translation match" \
	msgfmt -c -o /dev/null po/vi.po
t_fail "  ... nothing fuzzy or obsolete left in it" grep -E '^#, .*fuzzy|^#~' po/vi.po
# the same checks fail on a copy with one translation taken out, and one made fuzzy
$PY - po/vi.po "$T_DIR/broken.po" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
text = text.replace('msgstr "thiết bị ký số cần mã PIN"', 'msgstr ""', 1)
text = re.sub(r'\n(msgid "the PIN is incorrect")', r'\n#, fuzzy\n\1', text, count=1)
open(sys.argv[2], "w", encoding="utf-8").write(text)
EOF
t_match "  ... (a copy with one translation gone and one fuzzy is reported: $(stats "$T_DIR/broken.po" | tr -d '\n'))" \
	'1 fuzzy translation, 1 untranslated message' "$(stats "$T_DIR/broken.po")"
printf 'msgid "kyso: cannot read %%s: %%s\\n"\nmsgstr "kyso: không đọc được %%s\\n"\n' > "$T_DIR/fmt.po"
t_fail "  ... (and msgfmt -c refuses a translation that drops a %s)" msgfmt -c -o /dev/null "$T_DIR/fmt.po"
# Vietnamese, not English copied over: only names and bare formats may stay as they are
same=$($PY - po/vi.po <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
allowed = {"CA", "ID", "USB hotplug"}
for m in re.finditer(r'(?m)^msgid ((?:".*"\n)+)msgstr ((?:".*"\n)+)', text):
    mid = "".join(re.findall(r'"(.*)"', m.group(1)))
    mstr = "".join(re.findall(r'"(.*)"', m.group(2)))
    words = re.sub(r"%[-0-9.*$]*[a-z]+|--?[a-z-]+|kyso[-a-z]*|\\n", " ", mid)
    if mid and mid == mstr and mid not in allowed and re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", words):
        print(mid)
EOF
)
t_eq "  ... every sentence is translated, not copied in English" "" "$same"
t_match "  ... in the officers' words (ký số, mã PIN, thiết bị ký số, chứng thư số)" \
	'^4$' "$(for w in 'ký số' 'mã PIN' 'thiết bị ký số' 'chứng thư số'; do grep -q "msgstr.*$w" po/vi.po && echo "$w"; done | wc -l)"
t_ok "  ... with its diacritics, in UTF-8" grep -q 'charset=UTF-8' po/vi.po
t_ok "  ... a valid UTF-8 file" iconv -f UTF-8 -t UTF-8 -o /dev/null po/vi.po

# ---- the catalog built and found from the build tree ----
t_ok "make builds $BUILD/locale/vi/LC_MESSAGES/kyso.mo" test -s "$BUILD/locale/vi/LC_MESSAGES/kyso.mo"
msgfmt -o "$T_DIR/vi.mo" po/vi.po
t_ok "  ... from the current po/vi.po" cmp -s "$T_DIR/vi.mo" "$BUILD/locale/vi/LC_MESSAGES/kyso.mo"
t_done
