/*
 * owner.h — who may change a file kysod trusts (the audit log): only the user kysod runs
 * as, or root.
 *
 * A directory that others may write to lets them rename the file away and put their own
 * in its place (a sticky bit does not stop them creating the file while it is absent, as
 * after log rotation); a file that belongs to another uid, or that others may write to,
 * can be emptied by them at any time. Such files and directories are refused, as OpenSSH
 * refuses an authorized_keys file others could change.
 */
#ifndef KYSO_OWNER_H
#define KYSO_OWNER_H

#include <stddef.h>

/*
 * Checks dir (which must exist) and every directory above it (symbolic links resolved):
 * dir must belong to this user or root and be writable by nobody else (group or others,
 * sticky or not); a directory above it must belong to this user or root (see
 * owner_root_alias for a sandbox's user namespace) and, when group or others may write
 * to it, have the sticky bit (/tmp: nobody can then rename what is below). Returns KYSO_OK, or KYSO_ERR_PERMISSION (or KYSO_ERR_IO when it cannot be looked
 * at) with a sentence naming the directory, its owner or mode and the fix in err.
 */
int owner_check_dir(const char *dir, char *err, size_t errlen);

/*
 * Returns the uid that stands for root, besides 0, in the checks of the directories above
 * the audit log's own: overflow (the kernel's overflowuid, 65534) when uid_map (the text
 * of /proc/self/uid_map) does not map uid 0, else -1. In a user namespace that maps only
 * the user — systemd's PrivateUsers= for a user service, kysod.service's sandbox — the
 * kernel shows every owner it does not map as the overflow uid: root's /, /home and /tmp
 * look as if nobody owned them. There, such a directory above the log's own is taken for
 * root's (its mode is still checked); the log's directory and the file itself must be the
 * user's as anywhere. Outside such a namespace (root mapped) owners are checked exactly.
 */
long owner_root_alias(const char *uid_map, long overflow);

/*
 * Checks the open file fd (shown as path): a regular file that belongs to this user and is
 * writable by nobody else. Returns KYSO_OK, or KYSO_ERR_PERMISSION (KYSO_ERR_IO when fstat
 * fails) with a sentence naming the file in err.
 */
int owner_check_file(int fd, const char *path, char *err, size_t errlen);

#endif
