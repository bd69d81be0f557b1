/*
 * faulty.h — the parts of the test PKCS#11 module libkyso-faulty.so; what the module does
 * and the control-file syntax are described at the top of faulty_p11.c.
 *
 *   faulty_control.c   reading the control file (rules, slot and pinpad lines), the
 *                      trace, rule matching, fail-once
 *   faulty_slots.c     virtual slots, their tokens in SoftHSM, the session table, events
 *   faulty_core.c      module state (initialised, broken), the start and end of every
 *                      call, rules and delays, C_Initialize, C_Finalize, C_WaitForSlotEvent
 *   faulty_wrap.c      the wrappers of the slot and session functions (PIN pads: the
 *                      token flag in C_GetTokenInfo, the keypad in C_Login)
 *   faulty_p11.c       the documentation and C_GetFunctionList
 */
#ifndef KYSO_FAULTY_H
#define KYSO_FAULTY_H

#include <pthread.h>

#include <p11-kit/pkcs11.h>

#define FAULTY_SLOTS 16         /* virtual slots 1..16 */
#define FAULTY_RULES 64         /* rule lines honoured per read */
#define FAULTY_PINPADS 16       /* pinpad lines honoured per read */
#define FAULTY_TICK_MS 10       /* how often a delay looks at the control file */
#define FAULTY_WAIT_TICK_MS 20  /* how often C_WaitForSlotEvent looks at it */

/* One rule line: FUNCTION ACTION ARG [TOKEN-LABEL]. */
struct faulty_rule {
	char fn[64];
	char action[16];
	char arg[64];
	char only[64];   /* token label, "" for every token */
	char line[200];  /* the line as written, trimmed: identifies it for fail-once, delay */
};

/* One PIN-pad line: pinpad LABEL PIN [DELAY_MS]. */
struct faulty_pinpad {
	char label[33];  /* "" in a call about no PIN-pad token */
	char pin[64];    /* what the person types on the keypad */
	long delay_ms;   /* how long the typing takes */
	char line[200];  /* the line as written, trimmed: its wait ends when it leaves */
};

/* The control file as read at one moment. */
struct faulty_ctl {
	struct faulty_rule rules[FAULTY_RULES];
	int nrules;
	int slot_lines;                      /* 0: SoftHSM's slots pass through */
	int declared[FAULTY_SLOTS + 1];
	char label[FAULTY_SLOTS + 1][33];    /* "" when declared empty */
	char content[FAULTY_SLOTS + 1][72];  /* "LABEL" or "LABEL TAG"; "" when empty */
	int events_off;
	int has_break;     /* some line has the action break */
	CK_RV break_rv;    /* the code of the first such line */
	struct faulty_pinpad pinpads[FAULTY_PINPADS];
	int npinpads;      /* one per label: a later line for a label replaces the earlier */
};

/* faulty_control.c */
struct faulty_ctl *faulty_ctl_read(void);  /* malloc'd; NULL when out of memory */
int faulty_ctl_has_line(const struct faulty_ctl *c, const char *line);  /* rule or pinpad */
const struct faulty_pinpad *faulty_ctl_pinpad(const struct faulty_ctl *c, const char *label);
void faulty_trace(const char *fn, const char *label);
int faulty_rule_matches(const struct faulty_rule *r, const char *fn, const char *label);
int faulty_once_fire(const char *line);      /* 1 the first time for a line */
CK_RV faulty_rule_code(const struct faulty_rule *r);

/* faulty_slots.c — every *_locked function runs under faulty_mu. */
extern CK_FUNCTION_LIST *faulty_real;        /* SoftHSM's functions */
extern pthread_mutex_t faulty_mu;
extern pthread_cond_t faulty_cv;             /* broadcast on slot changes, breaks, C_Finalize */

struct faulty_session {
	int used;
	CK_SESSION_HANDLE h;
	CK_SLOT_ID slot;    /* the slot id the application opened it on */
	int vslot;          /* 1..16 in virtual-slot mode, 0 when passed through */
	char label[33];
	int busy;           /* calls in progress on it */
	int dead;           /* its token went away: calls fail */
	int real_open;      /* SoftHSM's session is still open */
	int app_closed;     /* closed by the application or C_Finalize; freed when idle */
};

int faulty_virtual_locked(void);
void faulty_sync_locked(const struct faulty_ctl *c);
void faulty_vslot_locked(int n, int *declared, char label[33], unsigned long *gen);
unsigned long faulty_vslot_gen_locked(int n);
void faulty_events_baseline_locked(void);
int faulty_events_take_locked(void);
int faulty_events_pending_locked(void);
CK_RV faulty_token_slot(const char *label, CK_SLOT_ID *real);
void faulty_real_label(CK_SLOT_ID real, char out[33]);

struct faulty_session *faulty_sess_at(int i);
int faulty_sess_find_locked(CK_SESSION_HANDLE h);
int faulty_sess_add_locked(CK_SESSION_HANDLE h, CK_SLOT_ID slot, int vslot,
    const char *label);
int faulty_sess_leave_locked(int i);         /* returns 1 if the session died */
void faulty_sess_app_close_locked(int i);
void faulty_sess_close_slot_locked(CK_SLOT_ID slot, int virt);
void faulty_sess_drop_all_locked(void);

/* faulty_core.c */
enum faulty_kind {
	FAULTY_GLOBAL,   /* no slot, no session */
	FAULTY_SLOT,     /* a slot, empty or not */
	FAULTY_TOKEN,    /* a slot that must hold a token */
	FAULTY_SESSION,
};

struct faulty_call {
	const char *fn;
	enum faulty_kind kind;
	CK_SLOT_ID slot;       /* FAULTY_SLOT, FAULTY_TOKEN: the application's slot id */
	CK_SESSION_HANDLE h;   /* FAULTY_SESSION */
	/* filled by faulty_begin */
	int virt;              /* virtual-slot mode */
	CK_SLOT_ID real_slot;  /* SoftHSM's slot of the token */
	int present;           /* FAULTY_SLOT: a token is in the slot */
	int vslot;             /* the virtual slot (slot calls, sessions); 0 if none */
	unsigned long vgen;    /* its generation at the start of the call */
	int sess;              /* session table index; -1 if not in it */
	int dead;              /* the session is dead */
	unsigned long epoch;   /* C_Initialize count at the start */
	char label[33];        /* the token's label, "" when none */
	struct faulty_pinpad pinpad;  /* its pinpad line; pinpad.label "" when none */
};

CK_RV faulty_begin(struct faulty_call *c);
CK_RV faulty_end(struct faulty_call *c, CK_RV rv);
CK_RV faulty_wait(const struct faulty_call *c, const char *line, long ms);
CK_RV faulty_C_Initialize(CK_VOID_PTR args);
CK_RV faulty_C_Finalize(CK_VOID_PTR reserved);
CK_RV faulty_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved);

/* faulty_wrap.c */
void faulty_wrap(CK_FUNCTION_LIST *ours);

#endif
