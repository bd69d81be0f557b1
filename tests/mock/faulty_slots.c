/*
 * faulty_slots.c — virtual slots 1..16 and what they hold, the SoftHSM slot of a token
 * label, the table of open sessions (which die when their slot's token goes away), and
 * the slot events not yet reported by C_WaitForSlotEvent.
 *
 * A slot's "generation" grows each time its content (empty, or which label and tag) is
 * seen to change; sessions opened before die, and C_WaitForSlotEvent reports the slot
 * when its generation differs from the one it last reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faulty.h"

CK_FUNCTION_LIST *faulty_real;
pthread_mutex_t faulty_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t faulty_cv = PTHREAD_COND_INITIALIZER;

static struct {
	int declared;
	char label[33];
	char content[72];
	unsigned long gen;
	unsigned long reported;  /* the generation C_WaitForSlotEvent last reported */
} vs[FAULTY_SLOTS + 1];
static int virt;  /* the last control file read had slot lines */

#define SESSIONS_MAX 1024
static struct faulty_session sessions[SESSIONS_MAX];

static void
sess_free(struct faulty_session *s)
{
	memset(s, 0, sizeof(*s));
}

/* The token went away: calls on the session fail; SoftHSM's session closes when idle. */
static void
sess_kill(struct faulty_session *s)
{
	s->dead = 1;
	if (s->busy == 0 && s->real_open) {
		(void)faulty_real->C_CloseSession(s->h);
		s->real_open = 0;
	}
}

int
faulty_virtual_locked(void)
{
	return virt;
}

void
faulty_sync_locked(const struct faulty_ctl *c)
{
	int changed = 0, v = c->slot_lines > 0;

	if (v != virt) {
		/* between SoftHSM's slots and virtual ones: every session is gone */
		for (int i = 0; i < SESSIONS_MAX; i++)
			if (sessions[i].used && !sessions[i].dead && !sessions[i].app_closed)
				sess_kill(&sessions[i]);
		virt = v;
		changed = 1;
	}
	for (int n = 1; n <= FAULTY_SLOTS; n++) {
		const char *content = c->declared[n] ? c->content[n] : "";

		vs[n].declared = c->declared[n];
		if (strcmp(vs[n].content, content) == 0)
			continue;
		snprintf(vs[n].content, sizeof(vs[n].content), "%s", content);
		snprintf(vs[n].label, sizeof(vs[n].label), "%s", c->declared[n] ? c->label[n] : "");
		vs[n].gen++;
		changed = 1;
		for (int i = 0; i < SESSIONS_MAX; i++)
			if (sessions[i].used && sessions[i].vslot == n && !sessions[i].dead &&
			    !sessions[i].app_closed)
				sess_kill(&sessions[i]);
	}
	if (changed)
		pthread_cond_broadcast(&faulty_cv);
}

void
faulty_vslot_locked(int n, int *declared, char label[33], unsigned long *gen)
{
	*declared = n >= 1 && n <= FAULTY_SLOTS && vs[n].declared;
	label[0] = '\0';
	*gen = 0;
	if (*declared) {
		memcpy(label, vs[n].label, 33);
		*gen = vs[n].gen;
	}
}

unsigned long
faulty_vslot_gen_locked(int n)
{
	return n >= 1 && n <= FAULTY_SLOTS ? vs[n].gen : 0;
}

void
faulty_events_baseline_locked(void)
{
	for (int n = 1; n <= FAULTY_SLOTS; n++)
		vs[n].reported = vs[n].gen;
}

int
faulty_events_pending_locked(void)
{
	for (int n = 1; n <= FAULTY_SLOTS; n++)
		if (vs[n].reported != vs[n].gen)
			return 1;
	return 0;
}

int
faulty_events_take_locked(void)
{
	for (int n = 1; n <= FAULTY_SLOTS; n++)
		if (vs[n].reported != vs[n].gen) {
			vs[n].reported = vs[n].gen;
			return n;
		}
	return 0;
}

/* ---- tokens in SoftHSM ---- */

void
faulty_real_label(CK_SLOT_ID real, char out[33])
{
	CK_TOKEN_INFO ti;
	int n = 32;

	out[0] = '\0';
	if (faulty_real->C_GetTokenInfo(real, &ti) != CKR_OK)
		return;
	memcpy(out, ti.label, 32);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* the last slot found for each label, checked before use */
#define CACHE_MAX 32
static struct {
	char label[33];
	CK_SLOT_ID slot;
} cache[CACHE_MAX];
static int ncache;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

CK_RV
faulty_token_slot(const char *label, CK_SLOT_ID *real)
{
	CK_SLOT_ID *list = NULL;
	CK_ULONG count = 0;
	char l[33];
	CK_RV rv = CKR_TOKEN_NOT_PRESENT;

	if (label[0] == '\0')
		return CKR_TOKEN_NOT_PRESENT;
	pthread_mutex_lock(&cache_mu);
	for (int i = 0; i < ncache; i++)
		if (strcmp(cache[i].label, label) == 0) {
			faulty_real_label(cache[i].slot, l);
			if (strcmp(l, label) == 0) {
				*real = cache[i].slot;
				pthread_mutex_unlock(&cache_mu);
				return CKR_OK;
			}
		}
	/* not known or moved: look at every token */
	ncache = 0;
	if (faulty_real->C_GetSlotList(CK_TRUE, NULL, &count) == CKR_OK && count > 0 &&
	    (list = calloc(count, sizeof(*list))) != NULL &&
	    faulty_real->C_GetSlotList(CK_TRUE, list, &count) == CKR_OK) {
		for (CK_ULONG i = 0; i < count; i++) {
			faulty_real_label(list[i], l);
			if (l[0] != '\0' && ncache < CACHE_MAX) {
				memcpy(cache[ncache].label, l, 33);
				cache[ncache++].slot = list[i];
			}
			if (rv != CKR_OK && strcmp(l, label) == 0) {
				*real = list[i];
				rv = CKR_OK;
			}
		}
	}
	free(list);
	pthread_mutex_unlock(&cache_mu);
	return rv;
}

/* ---- sessions ---- */

struct faulty_session *
faulty_sess_at(int i)
{
	return &sessions[i];
}

int
faulty_sess_find_locked(CK_SESSION_HANDLE h)
{
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (sessions[i].used && !sessions[i].app_closed && sessions[i].h == h)
			return i;
	return -1;
}

int
faulty_sess_add_locked(CK_SESSION_HANDLE h, CK_SLOT_ID slot, int vslot, const char *label)
{
	int free_i = -1;

	/* SoftHSM hands out the number of a closed session again: the old entry goes */
	for (int i = 0; i < SESSIONS_MAX; i++) {
		struct faulty_session *s = &sessions[i];

		if (s->used && s->h == h && !s->app_closed) {
			if (s->busy == 0)
				sess_free(s);
			else
				s->app_closed = 1;
		}
		if (!s->used && free_i < 0)
			free_i = i;
	}
	if (free_i < 0)  /* full: forget a dead session the application never closed */
		for (int i = 0; i < SESSIONS_MAX && free_i < 0; i++)
			if (sessions[i].dead && sessions[i].busy == 0 && !sessions[i].real_open) {
				sess_free(&sessions[i]);
				free_i = i;
			}
	if (free_i < 0)
		return -1;
	sessions[free_i] = (struct faulty_session){ .used = 1, .h = h, .slot = slot,
		.vslot = vslot, .real_open = 1 };
	snprintf(sessions[free_i].label, sizeof(sessions[free_i].label), "%s", label);
	return free_i;
}

int
faulty_sess_leave_locked(int i)
{
	struct faulty_session *s = &sessions[i];

	if (--s->busy > 0)
		return s->dead;
	if ((s->dead || s->app_closed) && s->real_open) {
		(void)faulty_real->C_CloseSession(s->h);
		s->real_open = 0;
	}
	if (s->app_closed) {
		int dead = s->dead;

		sess_free(s);
		return dead;
	}
	return s->dead;
}

void
faulty_sess_app_close_locked(int i)
{
	struct faulty_session *s = &sessions[i];

	s->app_closed = 1;
	if (s->busy > 0)
		return;  /* the last call to leave frees it */
	if (s->real_open)
		(void)faulty_real->C_CloseSession(s->h);
	sess_free(s);
}

void
faulty_sess_close_slot_locked(CK_SLOT_ID slot, int v)
{
	for (int i = 0; i < SESSIONS_MAX; i++) {
		struct faulty_session *s = &sessions[i];

		if (!s->used || s->app_closed || s->slot != slot || (s->vslot != 0) != (v != 0))
			continue;
		if (!v)
			s->real_open = 0;  /* SoftHSM's C_CloseAllSessions closed it */
		faulty_sess_app_close_locked(i);
	}
}

void
faulty_sess_drop_all_locked(void)
{
	for (int i = 0; i < SESSIONS_MAX; i++) {
		struct faulty_session *s = &sessions[i];

		if (!s->used)
			continue;
		s->real_open = 0;  /* SoftHSM's C_Finalize closes them */
		if (s->busy > 0) {
			s->dead = 1;
			s->app_closed = 1;
		} else {
			sess_free(s);
		}
	}
}
