/*
 * tmpdir_fixture.h — a temporary directory for the tests of one unit test file, as a
 * cmocka group setup and teardown. The file defines `static char top[] =
 * "/tmp/NAME.XXXXXX";` before it includes this: tmpdir_setup makes the directory (top
 * then holds its name), tmpdir_teardown removes it and everything in it.
 */
#ifndef KYSO_TMPDIR_FIXTURE_H
#define KYSO_TMPDIR_FIXTURE_H
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int
tmpdir_rm(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

static int
tmpdir_setup(void **state)
{
	(void)state;
	return mkdtemp(top) != NULL ? 0 : -1;
}

static int
tmpdir_teardown(void **state)
{
	(void)state;
	return nftw(top, tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
