#!/usr/bin/env bash
# The udev rule (build/70-kyso-tokens.rules, made from udev/70-kyso-tokens.rules.in and
# udev/usb-ids.txt) on this machine's udev (systemd 252: `udevadm test`; `udevadm verify`
# came in 253). Comments stand on lines of their own; the rule parser reads the file
# and reports nothing about it (a control file with a comment after a rule is reported);
# then `udevadm test` runs the real rules, in a private mount namespace, on synthetic USB
# devices built in a tmpfs over /sys (this machine has no USB bus and no kernel modules
# to make one; tests/tools/fakesysfs.c lets udevadm take the tmpfs for sysfs): a reader
# or token with a CCID interface and each vendor of the list get TAG+="uaccess",
# TAG+="systemd" and SYSTEMD_USER_WANTS=kysod.service; a shared vendor id, a mouse and a
# removal get nothing. kysod's own filter (agent/usb.c, through tests/tools/usb_probe)
# gives the same verdict on every device: one list.
. "$(dirname "$0")/../lib/common.sh"

rules=$BUILD/70-kyso-tokens.rules
ids=$T_TOP/udev/usb-ids.txt
[ -f "$rules" ] || { t_flunk "$rules is built"; t_done; exit 1; }

# --- the file itself ---
t_eq "every comment stands on a line of its own (udev drops a rule line with a '#')" "" \
	"$(grep -n '^[^#].*#' "$rules" || true)"
list=$(awk '/^[0-9a-f][0-9a-f][0-9a-f][0-9a-f] / {print $1}' "$ids" | sort | paste -sd' ')
t_eq "the rule names exactly the vendors of udev/usb-ids.txt" "$list" \
	"$(sed -n 's/^ATTR{idVendor}=="\([0-9a-f]*\)".*/\1/p' "$rules" | sort | paste -sd' ')"
t_eq "kysod's table (agent/usb.c) is the same list" "$list" \
	"$("$BUILD/tests/usb_probe" --vendors | awk '{print $1}' | sort | paste -sd' ')"
for v in 20a0 04e6 076b 072f; do
	t_eq "the shared or broad vendor id $v is not in the list" "" "$(grep "^$v " "$ids" || true)"
done
t_match "a token starts the user's agent: TAG+=\"systemd\", SYSTEMD_USER_WANTS=kysod.service" \
	'^TAG\+="systemd", ENV\{SYSTEMD_USER_WANTS\}\+="kysod.service"$' "$(cat "$rules")"

if [ "$(id -u)" != 0 ] || ! command -v udevadm >/dev/null 2>&1 ||
	! unshare -m --propagation private true 2>/dev/null; then
	t_skip "udevadm test on the rule" "needs root, udevadm (package udev) and a mount namespace"
	t_done; exit 0
fi

# udevadm test in a private mount namespace where /etc/udev/rules.d holds only RULEFILE,
# /run is empty (udevadm test writes the udev database: not the machine's), and /sys is
# a tmpfs with one synthetic USB device (optional, VENDOR PRODUCT DEVCLASS IFCLASS) that
# udevadm believes is sysfs. Prints udevadm's output.
#   udev_test ACTION RULEFILE [VENDOR PRODUCT DEVCLASS IFCLASS]
udev_test() {
	unshare -m --propagation private bash -s "$@" <<'SH'
	set -e
	action=$1 rules=$2
	mount -t tmpfs -o mode=755 kyso-test-rules /etc/udev/rules.d
	cp "$rules" /etc/udev/rules.d/
	# udevadm test writes its database (/run/udev): in the namespace's own /run
	mount -t tmpfs -o mode=755 kyso-test-run /run
	if [ $# -lt 6 ]; then
		exec udevadm test --action="$action" /devices/virtual/mem/null 2>&1
	fi
	v=$3 p=$4 dc=$5 ic=$6
	mount -t tmpfs -o mode=755 kyso-test-sysfs /sys
	d=/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1
	mkdir -p /sys/bus/usb "$d"
	ln -s ../../../../../bus/usb "$d/subsystem"
	printf 'MAJOR=189\nMINOR=4\nDEVNAME=bus/usb/001/005\nDEVTYPE=usb_device\nDRIVER=usb\nPRODUCT=%x/%x/100\nTYPE=%d/0/0\nBUSNUM=001\nDEVNUM=005\n' \
		"0x$v" "0x$p" "0x$dc" > "$d/uevent"
	echo "$v" > "$d/idVendor"; echo "$p" > "$d/idProduct"; echo "$dc" > "$d/bDeviceClass"
	echo 0100 > "$d/bcdDevice"; echo 001 > "$d/busnum"; echo 5 > "$d/devnum"
	# device, configuration (one interface), interface (class ic), one endpoint
	printf "\\x12\\x01\\x00\\x02\\x$dc\\x00\\x00\\x40\\x${v:2:2}\\x${v:0:2}\\x${p:2:2}\\x${p:0:2}\\x00\\x01\\x00\\x00\\x00\\x01\\x09\\x02\\x19\\x00\\x01\\x01\\x00\\x80\\x32\\x09\\x04\\x00\\x00\\x01\\x$ic\\x00\\x00\\x00\\x07\\x05\\x81\\x03\\x08\\x00\\x0a" \
		> "$d/descriptors"
	LD_PRELOAD=$FAKESYSFS exec udevadm test --action="$action" \
		/devices/pci0000:00/0000:00:14.0/usb1/1-1 2>&1
SH
}
export FAKESYSFS=$BUILD/tests/libfakesysfs.so

# --- the parser ---
out=$(udev_test add "$rules")
echo "# udevadm test (systemd $(udevadm --version)) on /devices/virtual/mem/null, about our file:"
grep -F 70-kyso-tokens.rules <<<"$out" | sed 's/^/#   /'
t_match "udevadm reads the rule file" 'Reading rules file: /etc/udev/rules.d/70-kyso-tokens.rules' "$out"
t_eq "  ... and reports nothing about it (no invalid line, nothing ignored)" "" \
	"$(grep -F '70-kyso-tokens.rules:' <<<"$out" || true)"
cp "$rules" "$T_DIR/70-kyso-control.rules"
echo 'ATTR{idVendor}=="1234", TAG+="uaccess"  # a comment after a rule' >> "$T_DIR/70-kyso-control.rules"
t_match "control: the same check reports a comment after a rule" \
	'70-kyso-control.rules:[0-9]+ Invalid key/value pair, ignoring' "$(udev_test add "$T_DIR/70-kyso-control.rules")"

# --- synthetic devices ---
# verdict ACTION VENDOR PRODUCT DEVCLASS IFCLASS: "uaccess systemd kysod.service" or "-"
verdict() {
	local out tags
	out=$(udev_test "$1" "$rules" "${@:2}" | tr -d '\r')
	if ! grep -q "^DEVPATH=" <<<"$out"; then echo "udevadm failed: $(tail -n 3 <<<"$out")"; return; fi
	tags=$(sed -n 's/^CURRENT_TAGS=//p' <<<"$out")
	# (systemd's own rules add smartcard.target for a CCID reader)
	if [[ $tags == *:uaccess:* && $tags == *:systemd:* ]] &&
		grep -Eq '^SYSTEMD_USER_WANTS=(.* )?kysod.service( |$)' <<<"$out" &&
		grep -q '^KYSO_TOKEN=1$' <<<"$out"; then
		echo "uaccess systemd kysod.service"
	elif [[ $tags == *:uaccess:* || $tags == *:systemd:* ]] || grep -q '^KYSO_TOKEN=' <<<"$out"; then
		echo "partial: $tags $(grep -E '^(SYSTEMD_USER_WANTS|KYSO_TOKEN)=' <<<"$out" | paste -sd' ')"
	else
		echo "-"
	fi
}
agent() { [ "$("$BUILD/tests/usb_probe" "$@")" = 1 ] && echo "uaccess systemd kysod.service" || echo "-"; }
check() {  # DESC EXPECTED VENDOR PRODUCT DEVCLASS IFCLASS
	local desc=$1 want=$2; shift 2
	t_eq "$desc: udev" "$want" "$(verdict add "$@")"
	t_eq "  ... kysod agrees" "$want" "$(agent "$1" "$3" "$4")"
}
yes="uaccess systemd kysod.service"
check "a CCID reader of any maker (04e6, interface class 0b)" "$yes" 04e6 5116 00 0b
check "a device of the smart-card class (device class 0b)" "$yes" 1234 0001 0b 0b
check "a Feitian ePass with a vendor interface (096e, class ff)" "$yes" 096e 0005 00 ff
check "a Nitrokey-like device under the shared id 20a0, not CCID" "-" 20a0 4108 00 ff
check "a mouse (046d, HID)" "-" 046d c077 00 03
check "a USB disk (0781, mass storage)" "-" 0781 5567 00 08
n=0 bad=""
while read -r v _; do
	[[ $v =~ ^[0-9a-f]{4}$ ]] || continue
	n=$((n + 1))
	got=$(verdict add "$v" 0001 00 ff)
	[ "$got" = "$yes" ] && [ "$(agent "$v" 00 ff)" = "$yes" ] || bad="$bad $v($got)"
done < "$ids"
t_eq "every vendor of the list ($n), with a vendor interface: udev and kysod say token" "" "${bad# }"
t_eq "a token removed: no tags, no agent started" "-" "$(verdict remove 096e 0005 00 ff)"
out=$(udev_test add "$rules" 096e 0005 00 ff)
t_match "the seat's uaccess builtin runs on the token (73-seat-late.rules)" "run: 'uaccess'" "$out"
echo "# udevadm test on a synthetic Feitian token (096e:0005), the properties it sets:"
grep -E '^(ID_USB_INTERFACES|ID_VENDOR_FROM_DATABASE|TAGS|CURRENT_TAGS|SYSTEMD_USER_WANTS|KYSO_TOKEN)=' <<<"$out" | sed 's/^/#   /'
t_done
