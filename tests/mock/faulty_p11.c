/*
 * faulty_p11.c — libkyso-faulty.so, a PKCS#11 module for tests. It wraps a real module
 * (SoftHSM) and, on demand, injects failures and delays, puts SoftHSM's tokens into
 * removable virtual slots (insert, remove, swap), sends slot events, and breaks as a whole
 * the way p11-kit-client.so does when its server dies.
 *
 * Environment:
 *   KYSO_FAULTY_MODULE=/usr/lib/softhsm/libsofthsm2.so   the module to wrap (required)
 *   KYSO_FAULTY_CONTROL=/path/control                    the control file (optional)
 *   KYSO_FAULTY_TRACE=/path/trace                        appends "FUNCTION LABEL" per call
 *
 * THE CONTROL FILE is read at the start of every call, every 10 ms while a delay or a
 * keypad wait runs and whenever its directory changes while C_WaitForSlotEvent blocks.
 * Write it atomically (a temporary file, then rename: tests/lib/mock.sh does): a
 * half-written file is taken as it is. A missing file is an empty one. Blank lines, lines
 * starting with '#' and lines not understood are ignored. Words are separated by blanks;
 * labels are one word of at most 32 bytes.
 *
 *   slot N LABEL [TAG]   virtual slot N (1..16) holds the SoftHSM token labelled LABEL
 *   slot N -             virtual slot N exists and is empty
 *   events off           C_WaitForSlotEvent returns CKR_FUNCTION_NOT_SUPPORTED (as
 *                        SoftHSM does); without this line slot events are on
 *   pinpad LABEL PIN [DELAY_MS]   the token LABEL sits in a PIN-pad reader (below)
 *   FUNCTION ACTION ARG [LABEL]   a rule (below)
 * When N appears in several slot lines, the last one counts; so does the last pinpad line
 * of a LABEL.
 *
 * SLOTS. Without any slot line, SoftHSM's slots and tokens pass through unchanged. With
 * at least one, the application sees the virtual slots only:
 *   - C_GetSlotList(TRUE) lists the occupied slots, C_GetSlotList(FALSE) every declared
 *     slot, in increasing order. A slot is occupied when its LABEL names a token SoftHSM
 *     has; a LABEL SoftHSM does not have looks like an empty slot.
 *   - C_GetSlotInfo: slotDescription "kyso mock slot N", manufacturerID "kyso tests",
 *     flags CKF_REMOVABLE_DEVICE, plus CKF_TOKEN_PRESENT when occupied; versions 1.0.
 *   - C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_OpenSession
 *     go to the SoftHSM slot of the slot's token; on an empty slot they return
 *     CKR_TOKEN_NOT_PRESENT.
 *   - Any slot id that is not declared gives CKR_SLOT_ID_INVALID (C_CloseAllSessions too).
 *   - Session handles are SoftHSM's; C_GetSessionInfo reports the virtual slot.
 *     C_CloseAllSessions(N) closes the sessions opened on slot N only.
 *   - A label should sit in one slot at a time: SoftHSM keeps a token's login while any of
 *     its sessions is open, whichever slot it was opened on.
 *
 * REMOVAL AND SWAP. A slot's content is "empty" (slot N -, or no line for N) or its
 * LABEL with its TAG. The content changes when a call sees it differ from what the last
 * call saw: any call of any thread, a delay's or C_WaitForSlotEvent's periodic look —
 * nothing else watches the file, so a removal undone before anything looked is never seen
 * (a new TAG with the same LABEL is a removal and re-insertion nothing can miss). When a
 * slot's content changes, every session opened on it before is dead, like on a real card:
 *   - a call on it held by a delay returns CKR_DEVICE_REMOVED at the delay's next look
 *     (within 10 ms); a call inside SoftHSM at that moment returns CKR_DEVICE_REMOVED
 *     when SoftHSM returns;
 *   - later calls on it return CKR_SESSION_HANDLE_INVALID, except C_CloseSession, which
 *     returns CKR_OK and forgets the handle (closing it again reaches SoftHSM, which
 *     normally answers CKR_SESSION_HANDLE_INVALID; SoftHSM may hand the number out again
 *     for a new session);
 *   - its SoftHSM session is closed at once (or when the call in progress on it returns),
 *     so once all of a token's sessions are closed its login is gone: after re-insertion
 *     a new session needs a new C_Login;
 *   - a C_OpenSession that raced with the change returns CKR_DEVICE_REMOVED.
 * Going from SoftHSM's slots to virtual ones or back (the first slot line appears, the
 * last one goes) kills every open session the same way.
 *
 * SLOT EVENTS. C_WaitForSlotEvent returns slot N when N's content changed (as above)
 * since C_WaitForSlotEvent last returned N, or since C_Initialize: no event for what was
 * there at C_Initialize, nor for changes while the module was not initialised. A change
 * undone is still an event if the change was seen (a card pulled and pushed back is
 * one). An undeclared slot counts as empty: dropping the line of an occupied slot is an
 * event. One slot per call, the lowest first; the others stay pending for the next calls.
 *   - flags 0 blocks until there is an event: a thread of the module watches the control
 *     file's directory (inotify) and wakes the callers when it changes, so a caller waiting
 *     in an idle process is not woken by the module (where inotify fails it looks every
 *     20 ms); it also wakes at once when another thread's call sees a change.
 *     CKF_DONT_BLOCK returns a pending slot or CKR_NO_EVENT.
 *   - C_Finalize wakes every blocked caller, which returns CKR_CRYPTOKI_NOT_INITIALIZED;
 *     the module breaking (below) wakes them with its code; "events off" appearing makes
 *     them return CKR_FUNCTION_NOT_SUPPORTED; a C_WaitForSlotEvent fail or break rule
 *     appearing makes them return its code.
 *   - pReserved must be NULL and pSlot not (CKR_ARGUMENTS_BAD). Thread-safe: several
 *     threads may wait while others call the module; each event goes to one caller.
 *   - Without slot lines no slot is declared: it blocks until one of the above happens.
 *
 * PIN PADS: "pinpad LABEL PIN [DELAY_MS]" (PIN one word of at most 63 bytes, DELAY_MS a
 * decimal number of milliseconds, 0 to 3600000, default 0; a line with another word count
 * or a bad number is ignored). The token labelled LABEL behaves as if it sat in a reader
 * with a keypad, in virtual slots or SoftHSM's own:
 *   - C_GetTokenInfo adds CKF_PROTECTED_AUTHENTICATION_PATH to its flags;
 *   - C_Login on one of its sessions with pPin NULL (any user type: CKU_USER,
 *     CKU_CONTEXT_SPECIFIC, CKU_SO) is typed on the keypad: after the rules, the call
 *     waits DELAY_MS (the person typing), then calls SoftHSM's C_Login with PIN and
 *     returns what it returns (a wrong PIN in the line: CKR_PIN_INCORRECT, as a mistyped
 *     entry). The wait is a delay's (RULES below): it ends early, and the login goes on
 *     with the PIN read when the call started, when the line leaves the file or changes;
 *     it ends with CKR_DEVICE_REMOVED when the token goes, CKR_CRYPTOKI_NOT_INITIALIZED
 *     on C_Finalize, the code of a break;
 *   - a C_Login with a PIN passes through unchanged, and so does everything on a token
 *     without a pinpad line (SoftHSM answers a NULL PIN with CKR_ARGUMENTS_BAD).
 * The trace shows the C_Login once, at its start, as any call.
 *
 * RULES: "FUNCTION ACTION ARG [LABEL]".
 *   FUNCTION   any Cryptoki function name but C_GetFunctionList (every other function is
 *              wrapped), or * for every function except C_Initialize, C_Finalize,
 *              C_GetFunctionList and C_WaitForSlotEvent
 *   LABEL      only calls about the token with that label: on a session (the token it
 *              was opened on) or on a slot holding it. Calls about no token (C_GetInfo,
 *              C_GetSlotList, C_Initialize, C_Finalize, C_WaitForSlotEvent, an empty slot)
 *              match only rules without a LABEL.
 *   CODE       a CKR name (CKR_DEVICE_ERROR) or a number (0x30); CKR_OK or an unknown name
 *              means CKR_GENERAL_ERROR
 * Actions:
 *   C_Login fail CKR_PIN_LOCKED            the call returns CODE without reaching SoftHSM
 *   C_Sign fail-once CKR_DEVICE_ERROR      the first matching call fails, later ones do
 *                                          not; once the line has left the file, the same
 *                                          line written again fires again
 *   C_FindObjectsInit logout-once - tokA   before the first matching call on a session,
 *                                          SoftHSM's C_Logout on it (as another program
 *                                          logging a shared token out: every session of
 *                                          the token loses the login); the call goes on
 *   C_Sign delay 2000 slow                 the call waits 2000 ms first, then goes on. The
 *                                          wait ends early, and the call goes on, when
 *                                          the line leaves the file; it ends with
 *                                          CKR_DEVICE_REMOVED when the session's or slot's
 *                                          token goes, CKR_CRYPTOKI_NOT_INITIALIZED on
 *                                          C_Finalize, the code of a break
 *   * break CKR_DEVICE_ERROR               the module breaks (below); the call returns CODE
 * Actions that misbehave as closed vendor code does (ARG is read as a number where it
 * says so; any word otherwise), to show what kysod's helper processes contain:
 *   C_Sign crash segv                      the process gets SIGSEGV (as a NULL dereference)
 *   C_Login abort now                      abort(): SIGABRT
 *   C_GetSlotList hang forever             the call never returns (nothing ends the wait)
 *   C_Sign leak 1048576                    each call leaks ARG bytes (touched, never freed)
 *   C_Sign exit 3                          the process exits with status ARG
 * A call applies the rules that match it in file order: delays add up, the first fail,
 * fail-once or break ends it. A failing C_Sign also ends the signing operation in SoftHSM,
 * as the specification says a real one does. A call is first refused, before the rules,
 * when the module is not initialised (CKR_CRYPTOKI_NOT_INITIALIZED), broken (its code),
 * the session dead, the slot undeclared or empty (as above). C_WaitForSlotEvent applies
 * delay and fail-once rules when it starts, fail and break rules also while it waits.
 *
 * A BROKEN MODULE (like p11-kit-client.so after its server died): once a break rule
 * matched, every call but C_Initialize, C_Finalize and C_GetFunctionList returns that
 * rule's CODE, even after the line is gone, until the application calls C_Finalize (which
 * works and finalises SoftHSM) and then C_Initialize while no break line at all is in
 * the file. C_Initialize on a broken module while some break line is present returns the
 * CODE of the first such line and leaves the module uninitialised, so a later C_Initialize
 * can succeed. "C_Initialize break CODE" breaks the module at C_Initialize; "C_Initialize
 * fail CODE" makes C_Initialize return CODE (uninitialised, not broken).
 *
 * THE TRACE gets one line "FUNCTION LABEL" at the start of every call of every wrapped
 * function, C_Initialize, C_Finalize and C_WaitForSlotEvent included, refused calls too;
 * LABEL is the call's token label as for rules, empty (the line ends with a blank) when
 * none.
 *
 * Shell helpers: tests/lib/mock.sh. Checked by tests/integration/mock_module.sh. The code
 * is split as faulty.h lists; this file holds C_GetFunctionList, the only symbol exported.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

#include "faulty.h"

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) __attribute__((visibility("default")));

static CK_FUNCTION_LIST real_copy;
static CK_FUNCTION_LIST ours;
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	const char *path = getenv("KYSO_FAULTY_MODULE");
	CK_FUNCTION_LIST *fl;
	CK_RV rv = CKR_OK;
	void *h;

	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&load_mu);
	if (faulty_real == NULL) {
		if (path == NULL || (h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
		    (get = (CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(h, "C_GetFunctionList")) ==
		    NULL || get(&fl) != CKR_OK) {
			rv = CKR_GENERAL_ERROR;
		} else {
			real_copy = *fl;
			ours = *fl;
			faulty_wrap(&ours);
			faulty_real = &real_copy;
		}
	}
	pthread_mutex_unlock(&load_mu);
	if (rv == CKR_OK)
		*list = &ours;
	return rv;
}
