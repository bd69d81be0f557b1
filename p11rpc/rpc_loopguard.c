/*
 * rpc_loopguard.c — kysod's own look at a module file before it starts a helper for it:
 * kyso-pkcs11.so (which forwards to kysod: a loop) exports the marker common/loopguard.h
 * names, so its name is a string of the file's dynamic string table. kysod reads the file
 * (it never maps it as code) and looks for that NUL-delimited string; the helper checks
 * again with the loader before C_Initialize (pkcs11/p11_loopguard.c), and skips the slots
 * a proxy offers from it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loopguard.h"
#include "rpc_client.h"

#ifndef KYSO_P11_MODULE_DIR
#define KYSO_P11_MODULE_DIR "/usr/lib/pkcs11"
#endif

/* Whether the file at path holds the marker as a string of its own. */
static int
file_has_marker(const char *path)
{
	static const char want[] = "\0" KYSO_PKCS11_MARKER;   /* with both NULs */
	struct stat st;
	void *map;
	int fd, yes;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(want) ||
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED) {
		close(fd);
		return 0;
	}
	close(fd);
	yes = memmem(map, (size_t)st.st_size, want, sizeof(want)) != NULL;
	munmap(map, (size_t)st.st_size);
	return yes;
}

int
rpc_module_is_kyso(const char *path)
{
	char full[4096];

	if (path == NULL || path[0] == '\0')
		return 0;
	if (path[0] == '/' || strchr(path, '/') != NULL)
		return file_has_marker(path);
	/* a bare name: where p11-kit looks for it */
	return snprintf(full, sizeof(full), "%s/%s", KYSO_P11_MODULE_DIR, path) <
	    (int)sizeof(full) && file_has_marker(full);
}
