/*
 * rpc_sandbox.c — what kyso-p11-helper gives up before it loads a vendor module (see
 * rpc_server.h): new privileges, being dumped or traced, and (the seccomp filter, through
 * libseccomp) system calls a PKCS#11 module has no business making.
 *
 * The filter allows by default and refuses, with EPERM, a list: running programs, tracing
 * or reading other processes, loading kernel code, mounting, namespaces, the kernel's
 * keyrings, BPF and perf; and network sockets (AF_INET, AF_INET6, AF_PACKET: a module
 * talks to its reader through pcscd's Unix socket, p11-kit-client to its server through
 * one). A deny list rather than an allow list: vendor modules are closed code that
 * calls what it likes (threads, files, Unix sockets, ioctls on USB devices), and an
 * allow list would break them in ways nobody can test beforehand; what is refused here
 * is what a thief would need. kysod --no-module-filter turns it off for a module that
 * needs more (a network HSM's module needs its sockets).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "rpc_server.h"

/* The system calls refused (each looked up by name: one this kernel lacks is skipped). */
static const char *const refused[] = {
	"execve", "execveat",                                   /* no program may be run */
	"ptrace", "process_vm_readv", "process_vm_writev",      /* nor other processes read */
	"kcmp", "pidfd_getfd",
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
	"fsmount", "fsconfig", "fspick",
	"unshare", "setns",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"bpf", "perf_event_open", "userfaultfd",
	"keyctl", "add_key", "request_key",
	"reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime",
	"adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "personality",
	NULL,
};

/* Network sockets: refused with EAFNOSUPPORT, as on a kernel without them. */
static const int refused_families[] = { AF_INET, AF_INET6, AF_PACKET };

int
rpc_sandbox(int filter, char *why, size_t len)
{
	scmp_filter_ctx ctx = NULL;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(why, len, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	/* no core dump, no ptrace by other processes of the user (PINs pass through here) */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(why, len, "PR_SET_DUMPABLE: %s", strerror(errno));
		return -1;
	}
	if (!filter)
		return 0;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(why, len, "seccomp_init failed");
		return -1;
	}
	for (size_t i = 0; refused[i] != NULL; i++) {
		int nr = seccomp_syscall_resolve_name(refused[i]);

#if defined(__SANITIZE_ADDRESS__)
		/* LeakSanitizer stops the process's threads with ptrace at exit */
		if (strcmp(refused[i], "ptrace") == 0)
			continue;
#endif
		if (nr == __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) != 0) {
			snprintf(why, len, "seccomp: %s: %s", refused[i], strerror(-rc));
			seccomp_release(ctx);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(refused_families) / sizeof(refused_families[0]); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)refused_families[i]));
		if (rc != 0) {
			snprintf(why, len, "seccomp: socket: %s", strerror(-rc));
			seccomp_release(ctx);
			return -1;
		}
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		snprintf(why, len, "seccomp_load: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
