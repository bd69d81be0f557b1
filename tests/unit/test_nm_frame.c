/* test_nm_frame.c — browser/host: the native-messaging framing, and the web error names. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "host_err.h"
#include "kyso_err.h"
#include "nm_frame.h"

static int p[2];

static void
put(const void *data, size_t len)
{
	assert_int_equal(write(p[1], data, len), (ssize_t)len);
}

static void
put_len(uint32_t n)
{
	put(&n, sizeof(n));   /* native order, as the browsers write it */
}

static int
setup(void **state)
{
	(void)state;
	return pipe2(p, O_CLOEXEC);
}

static int
teardown(void **state)
{
	(void)state;
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return 0;
}

static void
test_messages(void **state)
{
	char *body;
	uint32_t len;

	(void)state;
	put_len(2);
	put("{}", 2);
	put_len(0);
	put_len(5);
	put("ab\0cd", 5);
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_OK);
	assert_int_equal(len, 2);
	assert_string_equal(body, "{}");
	free(body);
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_OK);   /* an empty message */
	assert_int_equal(len, 0);
	assert_string_equal(body, "");
	free(body);
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_OK);   /* bytes as they are */
	assert_int_equal(len, 5);
	assert_memory_equal(body, "ab\0cd", 5);
	free(body);
	close(p[1]);
	p[1] = -1;
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_ERR_DISCONNECTED);
	assert_null(body);
}

static void
test_truncated(void **state)
{
	char *body;
	uint32_t len;

	(void)state;
	put_len(10);
	put("12345", 5);
	close(p[1]);
	p[1] = -1;
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_ERR_PROTOCOL);
	assert_null(body);
}

static void
test_truncated_length(void **state)
{
	char *body;
	uint32_t len;

	(void)state;
	put("\x02\x00", 2);
	close(p[1]);
	p[1] = -1;
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_ERR_PROTOCOL);
}

static void
test_too_large_before_body(void **state)
{
	char *body, rest[8];
	uint32_t len;
	pid_t pid;
	int status;

	(void)state;
	/* exactly the cap is read: a child writes it (the pipe holds only 64 KiB) */
	if ((pid = fork()) == 0) {
		static char chunk[65536];
		uint32_t n = NM_IN_MAX;

		memset(chunk, 'x', sizeof(chunk));
		if (write(p[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		for (int i = 0; i < NM_IN_MAX / (int)sizeof(chunk); i++)
			if (write(p[1], chunk, sizeof(chunk)) != sizeof(chunk))
				_exit(1);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_OK);
	assert_int_equal(len, NM_IN_MAX);
	assert_int_equal(body[NM_IN_MAX - 1], 'x');
	free(body);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* one byte more is refused by its length, and its body is not read */
	put_len(NM_IN_MAX + 1);
	put("rest", 4);
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_ERR_TOO_LARGE);
	assert_int_equal(len, NM_IN_MAX + 1);
	assert_null(body);
	assert_int_equal(read(p[0], rest, 4), 4);
	assert_memory_equal(rest, "rest", 4);
	put_len(UINT32_MAX);
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_ERR_TOO_LARGE);
}

static void
test_write(void **state)
{
	char *big = malloc(NM_OUT_MAX + 1), *body;
	uint32_t len;

	(void)state;
	assert_non_null(big);
	assert_int_equal(nm_write(p[1], "{\"a\":1}", 7), KYSO_OK);
	assert_int_equal(nm_read(p[0], &body, &len), KYSO_OK);
	assert_string_equal(body, "{\"a\":1}");
	free(body);
	memset(big, ' ', NM_OUT_MAX + 1);
	assert_int_equal(nm_write(p[1], big, NM_OUT_MAX + 1), KYSO_ERR_TOO_LARGE);
	free(big);
	close(p[0]);
	p[0] = -1;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(nm_write(p[1], "{}", 2), KYSO_ERR_IO);   /* the browser left */
}

static void
test_error_names(void **state)
{
	(void)state;
	assert_string_equal(host_err_name(HE_POLICY_DENIED), "PolicyDenied");
	assert_string_equal(host_err_name(HE_COUNT), "AgentError");
	for (int e = 0; e < HE_COUNT; e++)
		assert_non_null(host_err_name((enum host_err)e));
	assert_int_equal(host_err_from_agent(KYSO_ERR_POLICY, "io.kyso.Agent.PolicyDenied",
	    NULL), HE_POLICY_DENIED);
	assert_int_equal(host_err_from_agent(KYSO_ERR_CANCELLED, "io.kyso.Agent.Cancelled",
	    "refused"), HE_CANCELLED);
	assert_int_equal(host_err_from_agent(KYSO_ERR_CANCELLED, "io.kyso.Agent.Cancelled",
	    "timeout"), HE_TIMEOUT);
	assert_int_equal(host_err_from_agent(KYSO_ERR_NO_SUCH_CERT,
	    "io.kyso.Agent.NoSuchCertificate", NULL), HE_NO_CERTIFICATE);
	assert_int_equal(host_err_from_agent(KYSO_ERR_PIN_LOCKED, "io.kyso.Agent.PinLocked",
	    NULL), HE_PIN_LOCKED);
	assert_int_equal(host_err_from_agent(KYSO_ERR_UNKNOWN_REMOTE, "io.kyso.Agent.New", NULL),
	    HE_AGENT_ERROR);
	assert_int_equal(host_err_from_agent(KYSO_ERR_CONNECT, "", NULL), HE_AGENT_NOT_RUNNING);
	assert_int_equal(host_err_from_agent(KYSO_ERR_DISCONNECTED, NULL, NULL),
	    HE_AGENT_NOT_RUNNING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_before_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
		cmocka_unit_test(test_error_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
