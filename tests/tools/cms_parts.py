#!/usr/bin/python3
# cms_parts.py — takes a CMS SignedData (DER) apart for tests: writes the signer's
# signature value and its time-stamp token (the unsigned attribute
# id-aa-signatureTimeStampToken), so that OpenSSL's `ts -verify` can check the token
# against the signature on its own.
#
#   cms_parts.py CMS.der SIGVALUE.bin TOKEN.der      exit 1 when there is no token
import sys

TST_OID = bytes.fromhex("060b2a864886f70d010910020e")  # 1.2.840.113549.1.9.16.2.14


def tlv(b, i):
    """(tag, start of content, end) of the DER element at i."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def children(b, start, end):
    out, i = [], start
    while i < end:
        tag, s, e = tlv(b, i)
        out.append((tag, i, s, e))
        i = e
    return out


der = open(sys.argv[1], "rb").read()
_, s, e = tlv(der, 0)                        # ContentInfo
ci = children(der, s, e)
_, s, e = tlv(der, ci[1][1])                 # [0] EXPLICIT
_, s, e = tlv(der, s)                        # SignedData
sd = children(der, s, e)
signer_infos = sd[-1]                        # the last SET: signerInfos
si = children(der, signer_infos[2], signer_infos[3])[0]
parts = children(der, si[2], si[3])
sig = next(p for p in parts if p[0] == 0x04)  # signature OCTET STRING
open(sys.argv[2], "wb").write(der[sig[2]:sig[3]])
unsigned = [p for p in parts if p[0] == 0xa1]
if not unsigned:
    sys.exit(1)
for attr in children(der, unsigned[0][2], unsigned[0][3]):
    oid, values = children(der, attr[2], attr[3])
    if der[oid[1]:oid[3]] == TST_OID:
        token = children(der, values[2], values[3])[0]
        open(sys.argv[3], "wb").write(der[token[1]:token[3]])
        sys.exit(0)
sys.exit(1)
