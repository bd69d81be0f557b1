/*
 * kp11_v3.h — the PKCS#11 3.0 interface (CK_INTERFACE, CK_FUNCTION_LIST_3_0), which
 * p11-kit 0.24's Cryptoki header does not have yet: the layout of OASIS's pkcs11t.h and
 * pkcs11f.h 3.0, the 2.40 list followed by the 3.0 functions in their order.
 */
#ifndef KYSO_KP11_V3_H
#define KYSO_KP11_V3_H

#include "kp11.h"

/* a 3.0 return value (C_SessionCancel) */
#define KP_CKR_OPERATION_CANCEL_FAILED 0x202UL

typedef struct kp_interface {
	CK_CHAR *pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} KP_INTERFACE;

typedef CK_RV (*kp_fn_init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
typedef CK_RV (*kp_fn_final)(CK_SESSION_HANDLE);
typedef CK_RV (*kp_fn_crypt)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR,
    CK_ULONG, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
typedef CK_RV (*kp_fn_crypt_begin)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR,
    CK_ULONG);
typedef CK_RV (*kp_fn_crypt_next)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR,
    CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR, CK_FLAGS);
typedef CK_RV (*kp_fn_sign)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR,
    CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
typedef CK_RV (*kp_fn_sign_begin)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG);
typedef CK_RV (*kp_fn_verify)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR,
    CK_ULONG, CK_BYTE_PTR, CK_ULONG);

struct kp_function_list_3_0 {
	CK_FUNCTION_LIST v2;  /* version, then the 2.40 functions */
	CK_RV (*C_GetInterfaceList)(KP_INTERFACE *, CK_ULONG_PTR);
	CK_RV (*C_GetInterface)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, KP_INTERFACE **, CK_FLAGS);
	CK_RV (*C_LoginUser)(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR_PTR, CK_ULONG,
	    CK_UTF8CHAR_PTR, CK_ULONG);
	CK_RV (*C_SessionCancel)(CK_SESSION_HANDLE, CK_FLAGS);
	kp_fn_init C_MessageEncryptInit;
	kp_fn_crypt C_EncryptMessage;
	kp_fn_crypt_begin C_EncryptMessageBegin;
	kp_fn_crypt_next C_EncryptMessageNext;
	kp_fn_final C_MessageEncryptFinal;
	kp_fn_init C_MessageDecryptInit;
	kp_fn_crypt C_DecryptMessage;
	kp_fn_crypt_begin C_DecryptMessageBegin;
	kp_fn_crypt_next C_DecryptMessageNext;
	kp_fn_final C_MessageDecryptFinal;
	kp_fn_init C_MessageSignInit;
	kp_fn_sign C_SignMessage;
	kp_fn_sign_begin C_SignMessageBegin;
	kp_fn_sign C_SignMessageNext;
	kp_fn_final C_MessageSignFinal;
	kp_fn_init C_MessageVerifyInit;
	kp_fn_verify C_VerifyMessage;
	kp_fn_sign_begin C_VerifyMessageBegin;
	kp_fn_verify C_VerifyMessageNext;
	kp_fn_final C_MessageVerifyFinal;
};

/* The exported entry points of PKCS#11 3.0 (kp11_entry.c). */
CK_RV C_GetInterfaceList(KP_INTERFACE *pInterfacesList, CK_ULONG_PTR pulCount);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
    KP_INTERFACE **ppInterface, CK_FLAGS flags);
/* C_Login with a user name (kp11_session.c) and C_SessionCancel (kp11_sign.c). */
CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
    CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen);
CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags);

/* The message-based functions, none offered: CKR_FUNCTION_NOT_SUPPORTED
 * (kp11_unsupported.c). */
CK_RV kp_MessageInit(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
CK_RV kp_MessageFinal(CK_SESSION_HANDLE);
CK_RV kp_CryptMessage(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
CK_RV kp_CryptMessageBegin(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG);
CK_RV kp_CryptMessageNext(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG_PTR, CK_FLAGS);
CK_RV kp_SignMessage(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG_PTR);
CK_RV kp_SignMessageBegin(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG);
CK_RV kp_VerifyMessage(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG);

#endif
