# tests/lib/cardstack.sh — a real smart-card stack for tests, no hardware: a private pcscd
# with the vsmartcard virtual reader (vpcd), our emulated CAC card (tests/cardemu, built on
# libcacard, keys in an NSS database) plugged into it, and OpenSC's opensc-pkcs11.so
# seeing it from outside.
#
# Source it (after tests/lib/common.sh, which sets BUILD), then:
#   card_stack_possible      exit 0 if the stack can run here; otherwise non-zero with the
#                            reason on stdout: skip the test then (t_skip), never pass it
#   card_stack_start DIR     build the card and start everything in DIR (~1 s; every step
#                            bounded); returns once OpenSC's PC/SC layer sees the card.
#                            Exports:
#       PCSCLITE_CSOCK_NAME  the private pcscd socket (libpcsclite in any process)
#       OPENSC_CONF          an OpenSC configuration limited to the CAC driver
#       CARD_MODULE          path of opensc-pkcs11.so
#       CARD_PIN             the card's PIN (the NSS database password; set CARD_PIN
#                            before sourcing to change it, 4 to 8 characters; default
#                            123456)
#       CARD_TOKEN_LABEL     the token label OpenSC shows ("kyso card")
#       CARD_KEY_ID          CKA_ID of the key and certificate on the token (0001)
#       CARD_CERT_PEM        the card's certificate (PEM), CARD_PUB_PEM its public key
#     and sets CARD_EMU_PID, CARD_PCSCD_PID, CARD_DIR (logs: DIR/cardemu.log, DIR/pcscd.log;
#     CARD_EMU_VERBOSE=1 logs every APDU, CARD_PCSCD_DEBUG=1 makes pcscd verbose)
#   card_pull [--nowait]     take the card out; returns once pcscd reports the reader
#                            empty (~0.1-0.4 s), or with --nowait as soon as the emulator
#                            has hung up
#   card_insert [--nowait]   put it back; returns once pcscd reports the card (~0.3 s), or
#                            with --nowait as soon as the emulator is connected to vpcd.
#                            After a --nowait pull, pcscd may not have seen the card go
#                            yet: "present" would then still be the old card
#   card_wait_reader present|absent [SECONDS]
#                            wait (default 10 s) until PC/SC reports the card in or out
#                            (OpenSC's view: opensc-tool -l, ~0.1 s a look)
#   card_stack_stop          stop everything; idempotent, always returns 0, prints the logs'
#                            tails when the test has failures: call it from the EXIT trap,
#                            e.g.  trap 'card_stack_stop; t_cleanup' EXIT
#                            (with kysod: stop the agent first, then the stack)
# The card is an RSA-2048 key with a self-signed certificate. pcscd runs in its own mount
# and network namespaces (vpcd listens on every address, so only a private "lo" keeps it
# unreachable) with /run/pcscd bound to DIR/run; the emulator joins its network namespace.
# Needs root (namespaces), pcscd, vsmartcard-vpcd, opensc, libnss3-tools, iproute2,
# util-linux and $BUILD/tests/cardemu (libcacard-dev at build time).

CARD_PIN=${CARD_PIN:-123456}
CARD_NICK=kyso-card
CARD_TOKEN_LABEL="kyso card"
CARD_KEY_ID=0001
CARD_PCSCD_PID=
CARD_EMU_PID=
CARD_DIR=

# opensc-pkcs11.so: $CARD_MODULE if set, else the multiarch directory, else anywhere usual
card_find_module() {
	local arch c
	if [ -n "${CARD_MODULE:-}" ] && [ -f "$CARD_MODULE" ]; then echo "$CARD_MODULE"; return 0; fi
	arch=$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
	for c in ${arch:+/usr/lib/$arch/opensc-pkcs11.so /usr/lib/$arch/pkcs11/opensc-pkcs11.so} \
		/usr/lib/*/opensc-pkcs11.so /usr/lib/*/pkcs11/opensc-pkcs11.so \
		/usr/lib64/opensc-pkcs11.so /usr/lib/opensc-pkcs11.so; do
		[ -f "$c" ] && { echo "$c"; return 0; }
	done
	c=$(dpkg -L opensc-pkcs11 2>/dev/null | grep -m1 '/opensc-pkcs11\.so$')
	[ -n "$c" ] && [ -f "$c" ] && { echo "$c"; return 0; }
	return 1
}

card_find_vpcd() {
	local c
	for c in /usr/lib/pcsc/drivers/serial/libifdvpcd.so \
		/usr/lib/pcsc/drivers/serial/libifdvpcd.so.* \
		/usr/lib/*/pcsc/drivers/serial/libifdvpcd.so*; do
		[ -f "$c" ] && { echo "$c"; return 0; }
	done
	return 1
}

card_stack_possible() {
	local c out
	for c in pcscd unshare nsenter ip mount certutil pkcs11-tool opensc-tool openssl; do
		command -v "$c" >/dev/null 2>&1 ||
			{ echo "$c is not installed (packaging/deps.sh test)"; return 1; }
	done
	card_find_vpcd >/dev/null || { echo "vsmartcard-vpcd is not installed"; return 1; }
	card_find_module >/dev/null || { echo "opensc-pkcs11.so not found"; return 1; }
	[ -x "$BUILD/tests/cardemu" ] ||
		{ echo "$BUILD/tests/cardemu is not built (needs libcacard-dev)"; return 1; }
	# exactly what card_stack_start needs: private mount and network namespaces, a tmpfs
	# over /run in them, and lo
	if ! out=$(timeout 10 unshare --mount --net --propagation private sh -c \
		'mount -t tmpfs tmpfs /run && ip link set lo up' 2>&1); then
		echo "no private mount+network namespaces here: ${out:-unshare failed}" | head -n 1
		return 1
	fi
	return 0
}

# _card_running PID: the process exists and is not a zombie (kill -0 accepts zombies)
_card_running() {
	local st
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	read -r st < "/proc/$1/stat" 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# _card_until SECONDS CMD...: run CMD every 50 ms until it succeeds or the time is up
_card_until() {
	local limit=$1 end; shift
	end=$(( ${EPOCHREALTIME//[.,]/} + limit * 1000000 ))
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME//[.,]/}" -lt "$end" ] || return 1
		sleep 0.05
	done
}

_card_state_is() { [ "$(cat "$CARD_DIR/card.state" 2>/dev/null)" = "$1" ]; }

# _card_end PID NAME: SIGTERM, up to 3 s, then SIGKILL; reap it if it is our child
_card_end() {
	local pid=$1
	[ -n "$pid" ] || return 0
	if _card_running "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		_card_until 3 eval "! _card_running $pid" ||
			{ echo "# $2 did not stop on SIGTERM; killing it"; kill -KILL "$pid" 2>/dev/null
			  _card_until 2 eval "! _card_running $pid"; }
	fi
	# reap it (a zombie, or gone); never wait on a process that still runs
	_card_running "$pid" || wait "$pid" 2>/dev/null
	return 0
}

card_stack_start() {
	local dir=$1 vpcd module
	if _card_running "$CARD_PCSCD_PID" || _card_running "$CARD_EMU_PID"; then
		echo "# card_stack_start: a card stack already runs (card_stack_stop first)"
		return 1
	fi
	vpcd=$(card_find_vpcd) || { echo "# card_stack_start: no vpcd driver"; return 1; }
	module=$(card_find_module) || { echo "# card_stack_start: no opensc-pkcs11.so"; return 1; }
	mkdir -p "$dir/nssdb" "$dir/run" "$dir/reader.conf.d" || return 1
	CARD_DIR=$(cd "$dir" && pwd)
	dir=$CARD_DIR

	# the card's contents: an NSS database whose password is the card PIN, holding an
	# RSA-2048 key and a self-signed certificate for it
	printf '%s\n' "$CARD_PIN" > "$dir/nssdb.pw"
	head -c 256 /dev/urandom > "$dir/nssdb.noise"
	if ! { timeout 30 certutil -N -d "sql:$dir/nssdb" -f "$dir/nssdb.pw" &&
		timeout 30 certutil -S -d "sql:$dir/nssdb" -f "$dir/nssdb.pw" \
			-z "$dir/nssdb.noise" -n "$CARD_NICK" -x -t "CT,C,C" \
			-s "CN=$CARD_TOKEN_LABEL,O=kyso tests" -k rsa -g 2048 -Z SHA256 -v 12 \
			--keyUsage digitalSignature,nonRepudiation &&
		timeout 30 certutil -L -d "sql:$dir/nssdb" -n "$CARD_NICK" -a \
			> "$dir/card.crt.pem" &&
		timeout 30 openssl x509 -in "$dir/card.crt.pem" -noout -pubkey > "$dir/card.pub.pem"
	} < /dev/null > "$dir/certutil.log" 2>&1; then
		echo "# card_stack_start: making the NSS database failed:"
		sed 's/^/#   /' "$dir/certutil.log"
		return 1
	fi
	rm -f "$dir/nssdb.noise"

	# OpenSC: the CAC driver only (probing every driver costs ~12 s per process), no cache
	cat > "$dir/opensc.conf" <<-CONF
	app default {
		card_drivers = cac;
		framework pkcs15 {
			use_file_caching = no;
		}
	}
	CONF

	# vpcd: the reader "Virtual PCD 00 00" takes a card emulator on TCP port 0x8C7B
	# (35963), its second reader "Virtual PCD 00 01" on 35964
	cat > "$dir/reader.conf.d/vpcd" <<-CONF
	FRIENDLYNAME "Virtual PCD"
	DEVICENAME   /dev/null:0x8C7B
	LIBPATH      $vpcd
	CHANNELID    0x8C7B
	CONF

	# pcscd in private mount and network namespaces: /run is a fresh tmpfs there, with
	# /run/pcscd bound to $dir/run, so its socket is $dir/run/pcscd.comm for everyone
	# and any system pcscd is untouched. unshare and sh exec, so $! is pcscd.
	rm -f "$dir/run/pcscd.comm"
	unshare --mount --net --propagation private sh -c '
		ip link set lo up && mount -t tmpfs tmpfs /run && mkdir /run/pcscd &&
		mount --bind "$1" /run/pcscd && exec pcscd --foreground ${2:+"$2"} -c "$3"' \
		pcscd-ns "$dir/run" "${CARD_PCSCD_DEBUG:+--debug}" "$dir/reader.conf.d" \
		> "$dir/pcscd.log" 2>&1 &
	CARD_PCSCD_PID=$!
	if ! _card_until 10 test -S "$dir/run/pcscd.comm" || ! _card_running "$CARD_PCSCD_PID"; then
		echo "# card_stack_start: pcscd did not come up"; sed 's/^/#   /' "$dir/pcscd.log"
		card_stack_stop; return 1
	fi
	export PCSCLITE_CSOCK_NAME=$dir/run/pcscd.comm
	export OPENSC_CONF=$dir/opensc.conf
	export CARD_MODULE=$module
	export CARD_PIN CARD_TOKEN_LABEL CARD_KEY_ID
	export CARD_CERT_PEM=$dir/card.crt.pem CARD_PUB_PEM=$dir/card.pub.pem

	# the card, in pcscd's network namespace (nsenter execs too: $! is the emulator)
	rm -f "$dir/card.state" "$dir/cardemu.pid"
	nsenter --net="/proc/$CARD_PCSCD_PID/ns/net" "$BUILD/tests/cardemu" \
		--db "sql:$dir/nssdb" --cert "$CARD_NICK" --pidfile "$dir/cardemu.pid" \
		--state "$dir/card.state" ${CARD_EMU_VERBOSE:+--verbose} \
		> "$dir/cardemu.log" 2>&1 &
	CARD_EMU_PID=$!
	if ! _card_until 10 _card_state_is inserted; then
		echo "# card_stack_start: the card emulator did not connect to vpcd"
		sed 's/^/#   /' "$dir/cardemu.log"; card_stack_stop; return 1
	fi
	if ! card_wait_reader present 10; then
		echo "# card_stack_start: PC/SC does not see the card"
		card_stack_stop; return 1
	fi
	return 0
}

# card_wait_reader present|absent [SECONDS]: the first virtual reader through OpenSC's
# PC/SC layer (opensc-tool -l, ~0.1 s a call; no token binding)
_card_reader_is() {
	local want=Yes
	[ "$1" = absent ] && want=No
	timeout 10 opensc-tool -l 2>/dev/null | grep -Eq "^[0-9]+ +$want +.*Virtual PCD 00 00\$"
}
card_wait_reader() {
	_card_until "${2:-10}" _card_reader_is "$1"
}

card_pull() {
	_card_running "$CARD_EMU_PID" || { echo "# card_pull: the emulator is not running"; return 1; }
	kill -USR1 "$CARD_EMU_PID" && _card_until 5 _card_state_is pulled ||
		{ echo "# card_pull: the emulator did not report the card pulled"; return 1; }
	[ "${1:-}" = --nowait ] && return 0
	card_wait_reader absent 10 || { echo "# card_pull: PC/SC still sees the card"; return 1; }
}

card_insert() {
	_card_running "$CARD_EMU_PID" || { echo "# card_insert: the emulator is not running"; return 1; }
	kill -USR2 "$CARD_EMU_PID" && _card_until 5 _card_state_is inserted ||
		{ echo "# card_insert: the emulator did not reconnect to vpcd"; return 1; }
	[ "${1:-}" = --nowait ] && return 0
	card_wait_reader present 10 || { echo "# card_insert: PC/SC does not see the card"; return 1; }
}

card_stack_stop() {
	local f
	_card_end "$CARD_EMU_PID" "the card emulator"
	_card_end "$CARD_PCSCD_PID" pcscd
	CARD_EMU_PID=''
	CARD_PCSCD_PID=''
	if [ "${T_FAILED:-0}" -gt 0 ] && [ -n "$CARD_DIR" ]; then
		for f in cardemu.log pcscd.log; do
			[ -s "$CARD_DIR/$f" ] || continue
			echo "# $f (last 20 lines):"; tail -n 20 "$CARD_DIR/$f" | sed 's/^/#   /'
		done
	fi
	unset PCSCLITE_CSOCK_NAME OPENSC_CONF
	return 0
}
