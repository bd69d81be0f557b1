/*
 * kp11_entry.c — what the module exports: C_GetFunctionList (PKCS#11 2.40),
 * C_GetInterfaceList and C_GetInterface (3.0), and the marker by which kysod knows it
 * (common/loopguard.h). Everything else is hidden (kyso-pkcs11.map, -fvisibility=hidden),
 * so nothing of the module can clash with the program's own symbols.
 */
#include <stdio.h>
#include <string.h>

#include "kp11_v3.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

/* the marker (common/loopguard.h): its name is what counts, never its value */
KP_EXPORT const char kyso_pkcs11_forwards_to_kysod[] =
    "kyso-pkcs11 forwards to kysod: kysod must not load it";

static CK_RV info_fill(CK_INFO_PTR pInfo, CK_BYTE major, CK_BYTE minor);

static CK_RV
get_info_v2(CK_INFO_PTR pInfo)
{
	return info_fill(pInfo, 2, 40);
}

static CK_RV
get_info_v3(CK_INFO_PTR pInfo)
{
	return info_fill(pInfo, 3, 0);
}

static CK_RV get_function_list(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);

#define KP_V2_FUNCTIONS(getinfo) \
	C_Initialize, C_Finalize, getinfo, get_function_list, C_GetSlotList, \
	C_GetSlotInfo, C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken, \
	C_InitPIN, C_SetPIN, C_OpenSession, C_CloseSession, C_CloseAllSessions, \
	C_GetSessionInfo, C_GetOperationState, C_SetOperationState, C_Login, C_Logout, \
	C_CreateObject, C_CopyObject, C_DestroyObject, C_GetObjectSize, C_GetAttributeValue, \
	C_SetAttributeValue, C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal, \
	C_EncryptInit, C_Encrypt, C_EncryptUpdate, C_EncryptFinal, C_DecryptInit, \
	C_Decrypt, C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate, \
	C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal, \
	C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate, \
	C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover, C_DigestEncryptUpdate, \
	C_DecryptDigestUpdate, C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey, \
	C_GenerateKeyPair, C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom, \
	C_GenerateRandom, C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent

static CK_FUNCTION_LIST list_v2 = {
	{ 2, 40 },
	KP_V2_FUNCTIONS(get_info_v2)
};

static struct kp_function_list_3_0 list_v3 = {
	{ { 3, 0 }, KP_V2_FUNCTIONS(get_info_v3) },
	C_GetInterfaceList, C_GetInterface, C_LoginUser, C_SessionCancel,
	kp_MessageInit, kp_CryptMessage, kp_CryptMessageBegin, kp_CryptMessageNext,
	kp_MessageFinal,
	kp_MessageInit, kp_CryptMessage, kp_CryptMessageBegin, kp_CryptMessageNext,
	kp_MessageFinal,
	kp_MessageInit, kp_SignMessage, kp_SignMessageBegin, kp_SignMessage, kp_MessageFinal,
	kp_MessageInit, kp_VerifyMessage, kp_SignMessageBegin, kp_VerifyMessage,
	kp_MessageFinal,
};

static CK_CHAR interface_name[] = "PKCS 11";

/* the newest first: a program that takes the first gets 3.0 */
static KP_INTERFACE interfaces[] = {
	{ interface_name, &list_v3, 0 },
	{ interface_name, &list_v2, 0 },
};

static CK_RV
info_fill(CK_INFO_PTR pInfo, CK_BYTE major, CK_BYTE minor)
{
	unsigned vmaj = 0, vmin = 0;
	CK_RV rv;

	/* C_GetInfo is one of the calls that need C_Initialize first */
	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	kp_leave();
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->cryptokiVersion.major = major;
	pInfo->cryptokiVersion.minor = minor;
	kp_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "kyso");
	kp_pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
	    "kyso: tokens through kysod");
	(void)sscanf(KYSO_VERSION, "%u.%u", &vmaj, &vmin);
	pInfo->libraryVersion.major = (CK_BYTE)vmaj;
	pInfo->libraryVersion.minor = (CK_BYTE)vmin;
	return CKR_OK;
}

CK_RV
C_GetInfo(CK_INFO_PTR pInfo)
{
	return get_info_v2(pInfo);
}

static CK_RV
get_function_list(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (ppFunctionList == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &list_v2;
	return CKR_OK;
}

KP_EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	return get_function_list(ppFunctionList);
}

KP_EXPORT CK_RV
C_GetInterfaceList(KP_INTERFACE *pInterfacesList, CK_ULONG_PTR pulCount)
{
	CK_ULONG n = sizeof(interfaces) / sizeof(interfaces[0]);

	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pInterfacesList == NULL) {
		*pulCount = n;
		return CKR_OK;
	}
	if (*pulCount < n) {
		*pulCount = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(pInterfacesList, interfaces, sizeof(interfaces));
	*pulCount = n;
	return CKR_OK;
}

KP_EXPORT CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
    KP_INTERFACE **ppInterface, CK_FLAGS flags)
{
	if (ppInterface == NULL)
		return CKR_ARGUMENTS_BAD;
	for (size_t i = 0; i < sizeof(interfaces) / sizeof(interfaces[0]); i++) {
		const CK_VERSION *v = interfaces[i].pFunctionList;

		if (pInterfaceName != NULL &&
		    strcmp((const char *)pInterfaceName, (const char *)interface_name) != 0)
			continue;
		if (pVersion != NULL && (pVersion->major != v->major || pVersion->minor != v->minor))
			continue;
		/* CKF_INTERFACE_FORK_SAFE is not offered: a child calls C_Initialize */
		if ((interfaces[i].flags & flags) != flags)
			continue;
		*ppInterface = &interfaces[i];
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
