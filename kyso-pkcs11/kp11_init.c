/*
 * kp11_init.c — C_Initialize and C_Finalize, the module's lock, and fork.
 *
 * One lock guards everything (kp.mu). It is never held while the module waits for the
 * agent: a thread that signs takes a connection from the pool, unlocks, waits, and locks
 * again to store the result, checking that the cycle (kp.epoch) is still the same.
 *
 * Fork: a child inherits the parent's state, sockets included. pthread_atfork keeps the
 * lock consistent and marks the child; in it every call answers
 * CKR_CRYPTOKI_NOT_INITIALIZED until it calls C_Initialize, which drops the inherited
 * state (closing the copies of the sockets, never shutting them down: they are still the
 * parent's) and starts afresh, as PKCS#11 asks of a child.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fdnum.h"
#include "kp11.h"

struct kp_state kp = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.conn_cv = PTHREAD_COND_INITIALIZER,
	.evfd = -1,
	.sub = { .fd = -1 },
};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
fork_prepare(void)
{
	pthread_mutex_lock(&kp.mu);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&kp.mu);
}

static void
fork_child(void)
{
	/* the child's threads are gone: nobody waits, nobody signs; the state is stale */
	if (kp.initialized || kp.initializing)
		kp.forked = 1;
	kp.initialized = 0;
	kp.initializing = 0;
	kp.nwaiters = 0;
	pthread_cond_init(&kp.conn_cv, NULL);  /* its waiters were the parent's threads */
	pthread_mutex_unlock(&kp.mu);
}

static void
atfork_register(void)
{
	/* a handler registered from a shared object is removed when it is unloaded (glibc
	 * passes the object's __dso_handle) */
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

CK_RV
kp_enter(void)
{
	pthread_mutex_lock(&kp.mu);
	if (!kp.initialized || kp.finalizing) {
		pthread_mutex_unlock(&kp.mu);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	return CKR_OK;
}

void
kp_leave(void)
{
	pthread_mutex_unlock(&kp.mu);
}

CK_RV
kp_still(unsigned long epoch)
{
	return kp.initialized && !kp.finalizing && kp.epoch == epoch ? CKR_OK :
	    CKR_CRYPTOKI_NOT_INITIALIZED;
}

void
kp_pad(unsigned char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	if (len > n) {
		len = n;
		/* do not cut a UTF-8 character: back up over continuation bytes */
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memset(dst, ' ', n);
	memcpy(dst, src, len);
}

/* Frees the state of a cycle (lock held); inherited: the parent's, in a forked child. */
static void
state_free(int inherited)
{
	kp_sessions_free();
	kp_slots_free();
	kp_handles_free();
	kp_sub_close(&kp.sub, inherited);
	kp_pool_clear(inherited);
	if (inherited)
		kp_calls_forget();
	free(kp.pending);
	kp.pending = NULL;
	kp.npending = 0;
	if (kp.evfd >= 0)
		close(kp.evfd);
	kp.evfd = -1;
	kp_log_close();
}

/* Checks C_Initialize's arguments. */
static CK_RV
init_args_check(const CK_C_INITIALIZE_ARGS *a)
{
	int set;

	if (a == NULL)
		return CKR_OK;
	if (a->pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	set = (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) + (a->LockMutex != NULL) +
	    (a->UnlockMutex != NULL);
	if (set != 0 && set != 4)
		return CKR_ARGUMENTS_BAD;
	/* the module locks with the system's primitives; a program that offers only its own
	 * (and does not allow the system's) gets the refusal PKCS#11 provides for that */
	if (set == 4 && !(a->flags & CKF_OS_LOCKING_OK))
		return CKR_CANT_LOCK;
	return CKR_OK;
}

static CK_RV
kp_initialize(CK_VOID_PTR pInitArgs)
{
	struct kp_sub sub = { .fd = -1 };
	json_t *tokens = NULL;
	int answered, evfd;
	CK_RV rv;

	if ((rv = init_args_check(pInitArgs)) != CKR_OK)
		return rv;
	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&kp.mu);
	if (kp.initialized || kp.initializing) {
		pthread_mutex_unlock(&kp.mu);
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	if (kp.forked) {
		/* a child: what it inherited is its parent's */
		state_free(1);
		kp.forked = 0;
	}
	kp.initializing = 1;
	kp_config_read(&kp.cfg);
	pthread_mutex_unlock(&kp.mu);

	/* the agent's list of tokens, so that the first C_GetSlotList already has them;
	 * without an agent this returns at once */
	evfd = fd_off_stdio(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));  /* 0-2 are the host's */
	answered = kp_sub_start(&sub, KP_INIT_WAIT_MS, &tokens);
	kp_log("C_Initialize: %s", sub.state == KP_SUB_UP ? "subscribed to kysod's token "
	    "events" : answered ? "kysod did not answer" : "no agent is running");

	pthread_mutex_lock(&kp.mu);
	kp.initializing = 0;
	if (evfd < 0) {
		kp_sub_close(&sub, 0);
		json_decref(tokens);
		kp_log_close();
		pthread_mutex_unlock(&kp.mu);
		return CKR_HOST_MEMORY;
	}
	kp.evfd = evfd;
	kp.sub = sub;
	kp.epoch++;
	kp.initialized = 1;
	kp.finalizing = 0;
	kp.next_session = 1;
	kp.next_object = 1;
	if (tokens != NULL)
		kp_slots_sync(tokens, 0);
	else
		kp_slots_sync(NULL, 0);  /* the spare slot */
	json_decref(tokens);
	pthread_mutex_unlock(&kp.mu);
	return CKR_OK;
}

static CK_RV
kp_finalize(CK_VOID_PTR pReserved)
{
	if (pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&kp.mu);
	if (!kp.initialized || kp.finalizing) {
		pthread_mutex_unlock(&kp.mu);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	kp.finalizing = 1;
	kp.epoch++;
	/* wake the threads blocked in C_WaitForSlotEvent and wait until they have left */
	kp_events_wake_all();
	while (kp.nwaiters > 0)
		pthread_cond_wait(&kp.cond, &kp.mu);
	kp_calls_end();  /* and the calls waiting for kysod's answers */
	kp_log("C_Finalize");
	state_free(0);
	kp.initialized = 0;
	kp.finalizing = 0;
	pthread_mutex_unlock(&kp.mu);
	return CKR_OK;
}

CK_RV
C_Initialize(CK_VOID_PTR pInitArgs)
{
	return kp_initialize(pInitArgs);
}

CK_RV
C_Finalize(CK_VOID_PTR pReserved)
{
	return kp_finalize(pReserved);
}
