/*
 * kp11_unsupported.c — the Cryptoki functions the module does not offer. It signs and
 * does nothing else: it writes nothing to a token (provisioning is kyso-admin's, through
 * the token's own module), decrypts nothing and offers no verification (the programs'
 * own libraries verify).
 */
#include "kp11.h"

#define NS return CKR_FUNCTION_NOT_SUPPORTED

CK_RV C_InitToken(CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d)
{ (void)a; (void)b; (void)c; (void)d; NS; }
CK_RV C_InitPIN(CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_SetPIN(CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d,
    CK_ULONG e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_GetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_SetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
    CK_OBJECT_HANDLE d, CK_OBJECT_HANDLE e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_CreateObject(CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b, CK_ULONG c,
    CK_OBJECT_HANDLE_PTR d)
{ (void)a; (void)b; (void)c; (void)d; NS; }
CK_RV C_CopyObject(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d,
    CK_OBJECT_HANDLE_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_DestroyObject(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b)
{ (void)a; (void)b; NS; }
CK_RV C_SetAttributeValue(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c,
    CK_ULONG d)
{ (void)a; (void)b; (void)c; (void)d; NS; }
CK_RV C_EncryptInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_Encrypt(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_EncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_EncryptFinal(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_DecryptInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_Decrypt(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_DecryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_DecryptFinal(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_DigestInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b)
{ (void)a; (void)b; NS; }
CK_RV C_Digest(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_DigestUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_DigestKey(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b)
{ (void)a; (void)b; NS; }
CK_RV C_DigestFinal(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_SignRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_SignRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_VerifyInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_Verify(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_VerifyUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_VerifyFinal(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_VerifyRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_GenerateKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c,
    CK_ULONG d, CK_OBJECT_HANDLE_PTR e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c,
    CK_ULONG d, CK_ATTRIBUTE_PTR e, CK_ULONG f, CK_OBJECT_HANDLE_PTR g,
    CK_OBJECT_HANDLE_PTR h)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; (void)h; NS; }
CK_RV C_WrapKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c,
    CK_OBJECT_HANDLE d, CK_BYTE_PTR e, CK_ULONG_PTR f)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; NS; }
CK_RV C_UnwrapKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c,
    CK_BYTE_PTR d, CK_ULONG e, CK_ATTRIBUTE_PTR f, CK_ULONG g, CK_OBJECT_HANDLE_PTR h)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; (void)h; NS; }
CK_RV C_DeriveKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c,
    CK_ATTRIBUTE_PTR d, CK_ULONG e, CK_OBJECT_HANDLE_PTR f)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; NS; }
CK_RV C_SeedRandom(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV C_GenerateRandom(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c)
{ (void)a; (void)b; (void)c; NS; }
/* legacy functions: PKCS#11 gives them this answer */
CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE a)
{ (void)a; return CKR_FUNCTION_NOT_PARALLEL; }
CK_RV C_CancelFunction(CK_SESSION_HANDLE a)
{ (void)a; return CKR_FUNCTION_NOT_PARALLEL; }

/* PKCS#11 3.0's message-based functions (kp11_entry.c declares them) */
#include "kp11_v3.h"

CK_RV kp_MessageInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV kp_MessageFinal(CK_SESSION_HANDLE a)
{ (void)a; NS; }
CK_RV kp_CryptMessage(CK_SESSION_HANDLE a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG e, CK_BYTE_PTR f, CK_ULONG g, CK_BYTE_PTR h, CK_ULONG_PTR i)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; (void)h; (void)i; NS; }
CK_RV kp_CryptMessageBegin(CK_SESSION_HANDLE a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; NS; }
CK_RV kp_CryptMessageNext(CK_SESSION_HANDLE a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG e, CK_BYTE_PTR f, CK_ULONG_PTR g, CK_FLAGS h)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; (void)h; NS; }
CK_RV kp_SignMessage(CK_SESSION_HANDLE a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG e, CK_BYTE_PTR f, CK_ULONG_PTR g)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; NS; }
CK_RV kp_SignMessageBegin(CK_SESSION_HANDLE a, CK_VOID_PTR b, CK_ULONG c)
{ (void)a; (void)b; (void)c; NS; }
CK_RV kp_VerifyMessage(CK_SESSION_HANDLE a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d,
    CK_ULONG e, CK_BYTE_PTR f, CK_ULONG g)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; NS; }
