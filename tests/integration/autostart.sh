#!/usr/bin/env bash
# The XDG autostart entry (packaging/kysod.desktop, installed in /etc/xdg/autostart) for
# desktops without a systemd user session: desktop-file-validate accepts it; systemd's
# own autostart generator skips it (X-systemd-skip: kysod.socket starts the agent in
# systemd sessions), while it would make a unit of the same entry without that key (the
# control); and where an agent already serves the socket (kysod.socket active, or an
# agent started earlier), running the entry's command starts no second agent and says
# so calmly on the terminal.
. "$(dirname "$0")/../lib/common.sh"

desktop=$T_TOP/packaging/kysod.desktop
if command -v desktop-file-validate >/dev/null 2>&1; then
	t_eq "desktop-file-validate accepts kysod.desktop" "" "$(desktop-file-validate "$desktop" 2>&1)"
else
	t_skip "desktop-file-validate accepts kysod.desktop" "desktop-file-utils is not installed"
fi
t_eq "its command is kysod, which detaches once it serves" "kysod" "$(sed -n 's/^Exec=//p' "$desktop")"

gen=/usr/lib/systemd/user-generators/systemd-xdg-autostart-generator
[ -x "$gen" ] || gen=/lib/systemd/user-generators/systemd-xdg-autostart-generator
if [ -x "$gen" ]; then
	mkdir -p "$T_DIR/xdg/autostart" "$T_DIR/gen1" "$T_DIR/gen2" "$T_DIR/home/.config"
	cp "$desktop" "$T_DIR/xdg/autostart/"
	PATH=$BUILD:$PATH XDG_CONFIG_DIRS=$T_DIR/xdg XDG_CONFIG_HOME=$T_DIR/home/.config \
		HOME=$T_DIR/home "$gen" "$T_DIR/gen1" "$T_DIR/gen1" "$T_DIR/gen1" >/dev/null 2>&1
	t_eq "systemd's autostart generator makes no unit of it (X-systemd-skip=true)" "" \
		"$(find "$T_DIR/gen1" -name '*kysod*')"
	grep -v '^X-systemd-skip=' "$desktop" > "$T_DIR/xdg/autostart/kysod.desktop"
	PATH=$BUILD:$PATH XDG_CONFIG_DIRS=$T_DIR/xdg XDG_CONFIG_HOME=$T_DIR/home/.config \
		HOME=$T_DIR/home "$gen" "$T_DIR/gen2" "$T_DIR/gen2" "$T_DIR/gen2" >/dev/null 2>&1
	t_match "control: without the key it would make one" 'app-kysod@autostart.service' \
		"$(find "$T_DIR/gen2" -name '*kysod*')"
else
	t_skip "systemd's autostart generator skips the entry" "no systemd-xdg-autostart-generator"
fi

# the entry's command where an agent already serves the default socket
export XDG_RUNTIME_DIR=$T_DIR/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset KYSO_SOCKET
"$BUILD/kysod" --foreground >> "$T_DIR/kysod.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 200); do "$K" info >/dev/null 2>&1 && break; sleep 0.05; done
t_ok "an agent serves \$XDG_RUNTIME_DIR/kyso/agent.sock" "$K" info
cmd=$(sed -n 's/^Exec=//p' "$desktop")
out=$(PATH=$BUILD:$PATH $cmd 2>&1); rc=$?
t_eq "the autostart command exits at once with status 1" 1 "$rc"
t_eq "  ... saying calmly why, on the terminal" \
	"kysod: another agent is already serving $XDG_RUNTIME_DIR/kyso/agent.sock (started earlier, or by systemd's kysod.socket); not starting a second one" \
	"$out"
ours() {  # the kysod processes of this test (their XDG_RUNTIME_DIR is ours)
	local p n=0
	for p in $(pgrep -x kysod); do
		tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR" &&
			n=$((n + 1))
	done
	echo "$n"
}
t_eq "  ... and only one agent runs" 1 "$(ours)"
t_ok "  ... the first one, still serving" "$K" info
KYSO_SOCKET=$XDG_RUNTIME_DIR/kyso/agent.sock
t_agent_stops
t_done
