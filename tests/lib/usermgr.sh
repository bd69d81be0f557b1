# tests/lib/usermgr.sh — a real systemd user manager ("systemd --user") for a test user,
# on a machine where systemd is not PID 1 (the CI machines) as well as on one where it is.
# Nothing outside the test changes: the test runs in a private mount namespace, where
#   - /etc/passwd and /etc/group are copies with one more user (a free uid from 4242),
#     known only inside the namespace;
#   - /run is a fresh tmpfs holding systemd/system/ (so that systemd --user agrees to
#     run: sd_booted), systemd/unit-root/ (where it builds a sandboxed unit's mounts),
#     systemd/journal/, the sockets of a fake journald (tests/lib/fake_journald.py) that
#     writes every entry to $UM_DIR/journal.jsonl, and user/UID, the user's runtime
#     directory (the user manager looks for /run/user/UID itself);
# and the manager gets cgroups of its own, delegated to the user, removed at the end.
#
# Source it after tests/lib/common.sh, then:
#   um_possible            exit 0 if it can run here, else the reason on stdout (t_skip)
#   um_enter SCRIPT ARGS   re-executes SCRIPT in a private mount namespace, once
#                          (call it first; the test goes on in the namespace)
#   um_start DIR           makes the user (home DIR/home, XDG_RUNTIME_DIR /run/user/UID,
#                          both 0700 and the user's), starts journald and the manager; returns
#                          once `systemctl --user` answers. Sets UM_USER, UM_UID, UM_DIR,
#                          UM_HOME, UM_RUN, UM_PID
#   um_as CMD...           runs CMD as the user, with HOME and XDG_RUNTIME_DIR set
#   um_journal             the journal so far, one JSON object per line
#   um_stop                stops the manager and everything in its cgroups; idempotent

UM_PID= UM_JPID= UM_CGROUPS=()

um_possible() {
	local c
	[ "$(id -u)" = 0 ] || { echo "needs root (namespaces, a user, cgroups)"; return 1; }
	for c in unshare setpriv systemctl systemd-run; do
		command -v "$c" >/dev/null 2>&1 || { echo "$c is not installed"; return 1; }
	done
	[ -x /lib/systemd/systemd ] || { echo "/lib/systemd/systemd is not installed"; return 1; }
	unshare -m --propagation private true 2>/dev/null ||
		{ echo "cannot make a mount namespace here"; return 1; }
	[ -n "$(_um_cgroup_roots)" ] || { echo "no writable cgroup hierarchy for systemd"; return 1; }
	return 0
}

um_enter() {
	[ -n "${UM_IN_NAMESPACE:-}" ] && return 0
	UM_IN_NAMESPACE=1 exec unshare -m --propagation private bash "$@"
}

# the cgroup hierarchies systemd --user tracks its units in: the named "systemd" one and
# the unified one of a hybrid setup, or the one cgroup2 hierarchy
_um_cgroup_roots() {
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
		return
	fi
	[ -d /sys/fs/cgroup/systemd ] && echo /sys/fs/cgroup/systemd
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] &&
		echo /sys/fs/cgroup/unified
}

# a clean environment: nothing of the test's (XDG_CONFIG_HOME, KYSO_SOCKET...) leaks in
um_as() {
	setpriv --reuid="$UM_UID" --regid="$UM_UID" --clear-groups env -i PATH="$PATH" \
		HOME="$UM_HOME" XDG_RUNTIME_DIR="$UM_RUN" USER="$UM_USER" LOGNAME="$UM_USER" \
		LANG=C.UTF-8 "$@"
}

um_journal() { cat "$UM_DIR/journal.jsonl" 2>/dev/null; }

um_start() {
	local root cg
	UM_DIR=$1 UM_USER=kysotest UM_UID=4242
	while getent passwd "$UM_UID" >/dev/null || getent group "$UM_UID" >/dev/null; do
		UM_UID=$((UM_UID + 1))
	done
	UM_HOME=$UM_DIR/home UM_RUN=/run/user/$UM_UID
	mkdir -p "$UM_HOME"
	chmod 755 "$UM_DIR"
	chmod 700 "$UM_HOME"
	chown "$UM_UID:$UM_UID" "$UM_HOME"
	cp /etc/passwd "$UM_DIR/passwd" && cp /etc/group "$UM_DIR/group" || return 1
	echo "$UM_USER:x:$UM_UID:$UM_UID:kyso test user:$UM_HOME:/bin/sh" >> "$UM_DIR/passwd"
	echo "$UM_USER:x:$UM_UID:" >> "$UM_DIR/group"
	mount --bind "$UM_DIR/passwd" /etc/passwd && mount --bind "$UM_DIR/group" /etc/group &&
		mount -t tmpfs -o mode=755 kyso-test-run /run ||
		{ echo "# um_start: mounts failed"; return 1; }
	mkdir -p /run/systemd/system /run/systemd/unit-root /run/systemd/journal /run/user &&
		mkdir -m 700 "$UM_RUN" && chown "$UM_UID:$UM_UID" "$UM_RUN" || return 1
	/usr/bin/python3 "$T_TOP/tests/lib/fake_journald.py" /run/systemd/journal \
		"$UM_DIR/journal.jsonl" > "$UM_DIR/journald.log" 2>&1 &
	UM_JPID=$!
	for _ in $(seq 200); do [ -e /run/systemd/journal/ready ] && break; sleep 0.05; done
	[ -e /run/systemd/journal/ready ] || { echo "# um_start: fake journald did not start"; return 1; }
	for root in $(_um_cgroup_roots); do
		cg=$root/kyso-test-$$
		mkdir "$cg" && chown -R "$UM_UID:$UM_UID" "$cg" || { echo "# um_start: cgroup $cg"; return 1; }
		UM_CGROUPS+=("$cg")
	done
	export UM_UID UM_HOME UM_RUN UM_USER
	# the manager, in its cgroups: a root shell moves itself there, then becomes the user
	sh -c 'for cg; do echo $$ > "$cg/cgroup.procs" || exit 1; done
		exec setpriv --reuid="$UM_UID" --regid="$UM_UID" --clear-groups \
			env -i PATH="$PATH" HOME="$UM_HOME" XDG_RUNTIME_DIR="$UM_RUN" \
			USER="$UM_USER" LOGNAME="$UM_USER" LANG=C.UTF-8 \
			SYSTEMD_LOG_TARGET=journal /lib/systemd/systemd --user' \
		um-manager "${UM_CGROUPS[@]}" > "$UM_DIR/manager.log" 2>&1 &
	UM_PID=$!
	for _ in $(seq 400); do
		um_as systemctl --user is-system-running > "$UM_DIR/state" 2>&1
		grep -Eq '^(running|degraded)$' "$UM_DIR/state" && return 0
		kill -0 "$UM_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# um_start: the user manager did not come up ($(cat "$UM_DIR/state"))"
	sed 's/^/#   /' "$UM_DIR/manager.log"
	return 1
}

um_stop() {
	local cg p
	if [ -n "$UM_PID" ]; then
		kill -TERM "$UM_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$UM_PID" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$UM_PID" 2>/dev/null
		wait "$UM_PID" 2>/dev/null
	fi
	UM_PID=
	# whatever is left in the manager's cgroups (services it did not stop) is the test's
	for cg in "${UM_CGROUPS[@]}"; do
		for p in $(cat "$cg"/cgroup.procs "$cg"/*/cgroup.procs "$cg"/*/*/cgroup.procs \
			"$cg"/*/*/*/cgroup.procs 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for cg in "${UM_CGROUPS[@]}"; do
		for _ in $(seq 40); do
			find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$cg" ] || break
			sleep 0.05
		done
	done
	UM_CGROUPS=()
	[ -n "$UM_JPID" ] && { kill "$UM_JPID" 2>/dev/null; wait "$UM_JPID" 2>/dev/null; }
	UM_JPID=
	return 0
}
