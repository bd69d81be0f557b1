#!/usr/bin/env bash
# Bash completion (packaging/kyso.bash-completion, installed for kyso and kyso-admin):
# sourced into bash, asked as bash asks it (COMP_WORDS, COMP_CWORD): commands, options
# of each command (read from the programs' --help), the algorithms, key types and
# formats, and the certificate ids and token labels of the running agent; nothing and
# no noise where there is no agent.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

comp=$T_TOP/packaging/kyso.bash-completion
tok_init "$T_DIR/tok" && tok_create comptok && tok_key comptok 01 ec:p256 compkey ||
	{ t_flunk "make the test token"; t_done; exit 1; }

# complete LINE: what bash would offer for the last word of LINE (a trailing blank: an
# empty last word), sorted, one line
complete_line() {
	PATH=$BUILD:$PATH bash --norc --noprofile -c '
		. "$1"
		read -ra COMP_WORDS <<<"$2"
		[ "${2: -1}" = " " ] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$2 COMP_POINT=${#2}
		f=$(complete -p "${COMP_WORDS[0]}" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		"$f" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd" "' _ "$comp" "$1" 2>&1
}

t_ok "the completion file is valid bash" bash -n "$comp"
t_match "kyso <TAB>: the commands" '^audit certs help info lock login modules sign sign-cms sign-pdf tokens verify watch web-origins$' \
	"$(complete_line 'kyso ')"
t_eq "kyso si<TAB>: the signing commands" "sign sign-cms sign-pdf" "$(complete_line 'kyso si')"
t_eq "kyso sign-p<TAB>: sign-pdf" "sign-pdf" "$(complete_line 'kyso sign-p')"
t_match "kyso web-origins --<TAB>: its options, from its --help" '--forget .*--forget-all .*--json' \
	"$(complete_line 'kyso web-origins --' | tr '\n' ' ')"
t_eq "kyso --so<TAB>: --socket" "--socket" "$(complete_line 'kyso --so')"
t_match "kyso sign --<TAB>: its options" '^--alg --cert --description --digest --format --in --json --out --pin-stdin$' \
	"$(complete_line 'kyso sign --')"
t_eq "kyso sign --alg ecdsa<TAB>: the three ECDSA algorithms" "ecdsa-sha256 ecdsa-sha384 ecdsa-sha512" \
	"$(complete_line 'kyso sign --alg ecdsa')"
t_eq "kyso sign --alg <TAB>: all ten" 10 "$(complete_line 'kyso sign --alg ' | wc -w)"
t_eq "kyso sign --format <TAB>" "der raw" "$(complete_line 'kyso sign --format ')"
t_eq "kyso audit --re<TAB>: --result" "--result" "$(complete_line 'kyso audit --re')"
t_match "kyso audit --result P<TAB>: error names" '^PinIncorrect PinLocked PinRequired PolicyDenied$' \
	"$(complete_line 'kyso audit --result P')"
# sign-cms: its -d is --out-dir (a directory), its --digest a hash name, and its
# arguments are the files to sign
mkdir -p "$T_DIR/cms/signed.d" && : > "$T_DIR/cms/letter-1.pdf" && : > "$T_DIR/cms/letter-2.pdf"
t_eq "kyso sign-cms --out-dir <TAB> offers directories" "$T_DIR/cms/signed.d" \
	"$(complete_line "kyso sign-cms --out-dir $T_DIR/cms/sig")"
t_eq "kyso sign-cms -d <TAB> too (-d is --out-dir here)" "$T_DIR/cms/signed.d" \
	"$(complete_line "kyso sign-cms -d $T_DIR/cms/sig")"
t_eq "kyso sign-cms --digest <TAB>: the hashes" "sha256 sha384 sha512" \
	"$(complete_line 'kyso sign-cms --digest ')"
t_eq "kyso sign-cms ... FILE<TAB>: the files to sign" "$T_DIR/cms/letter-1.pdf $T_DIR/cms/letter-2.pdf" \
	"$(complete_line "kyso sign-cms --cert 01 --out-dir $T_DIR/cms/signed.d $T_DIR/cms/let")"
t_eq "kyso sign --digest <TAB> still offers nothing (a hex digest)" "" \
	"$(complete_line 'kyso sign --digest ')"
t_eq "kyso sign-pdf -d <TAB>: directories (-d is --out-dir here too)" "$T_DIR/cms/signed.d" \
	"$(complete_line "kyso sign-pdf -d $T_DIR/cms/sig")"
t_eq "kyso sign-pdf ... FILE<TAB>: the files to sign" "$T_DIR/cms/letter-1.pdf $T_DIR/cms/letter-2.pdf" \
	"$(complete_line "kyso sign-pdf --cert 01 --reason approved $T_DIR/cms/let")"
t_eq "kyso sign-pdf --reason <TAB>: nothing (free text)" "" \
	"$(complete_line "kyso sign-pdf --reason $T_DIR/cms/let")"
t_eq "kyso verify FILE<TAB> and --content FILE<TAB>: files" \
	"$T_DIR/cms/letter-1.pdf $T_DIR/cms/letter-2.pdf|$T_DIR/cms/letter-1.pdf $T_DIR/cms/letter-2.pdf" \
	"$(complete_line "kyso verify $T_DIR/cms/let")|$(complete_line "kyso verify x.p7s --content $T_DIR/cms/let")"
t_eq "no agent: kyso sign --cert <TAB> offers nothing, quietly" "" \
	"$(KYSO_SOCKET=$T_DIR/none.sock complete_line 'kyso sign --cert ')"

agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
id=$(cert_id "$TOK_DIR/compkey.crt.pem")
t_eq "kyso sign --cert <TAB>: the agent's certificate id" "$id" "$(complete_line 'kyso sign --cert ')"
t_eq "kyso certs --token <TAB>: the token labels" "comptok" "$(complete_line 'kyso certs --token ')"
t_eq "  ... from the agent named by --socket PATH" "comptok" \
	"$(KYSO_SOCKET=$T_DIR/none.sock complete_line "kyso --socket $KYSO_SOCKET login --token ")"

t_match "kyso-admin <TAB>: its commands" '^change-pin csr delete import-cert init inventory keygen list provision set-so-pin tokens unblock-pin$' \
	"$(complete_line 'kyso-admin ')"
t_eq "kyso-admin keygen --type <TAB>: the key types" "ec:p256 ec:p384 ed25519 rsa:2048 rsa:3072 rsa:4096" \
	"$(complete_line 'kyso-admin keygen --type ')"
t_eq "kyso-admin provision --o<TAB>: --out" "--out" "$(complete_line 'kyso-admin provision --o')"
t_match "kyso-admin --module M init --s<TAB>: --slot, --so-pin-file" '^--slot --so-pin-file$' \
	"$(complete_line 'kyso-admin --module /x.so init --s')"
mkdir -p "$T_DIR/profiles.d"
t_eq "kyso-admin provision --out <TAB> offers directories" "$T_DIR/profiles.d" \
	"$(complete_line "kyso-admin provision --out $T_DIR/profiles")"
t_agent_stops
t_done
