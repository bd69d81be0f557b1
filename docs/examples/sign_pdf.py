#!/usr/bin/env python3
"""Signs a PDF (PAdES, invisible) through the kyso agent, with Python's standard library only.

Usage: sign_pdf.py CERT_ID IN.pdf OUT.pdf

The new revision is appended to the original bytes: a signature dictionary whose
/Contents is a placeholder, a signature field, the catalog with an /AcroForm naming it, a
cross-reference table and a trailer with /Prev. The SHA-256 of every byte but the
placeholder (the /ByteRange) is signed by the agent (SignDocuments, profile "pades"),
which returns the CMS to put in the placeholder. The agent asks the officer for consent
and the PIN in its own dialog. To keep it short this handles PDFs with a cross-reference
table and no form yet; `kyso sign-pdf` and libkyso-pdf handle every PDF.
"""
import base64, hashlib, json, os, re, socket, sys, time

RESERVE = 16384  # bytes kept for the CMS: the chain on the token and the signature


def call(method, **parameters):
    run = os.environ.get("XDG_RUNTIME_DIR", "")
    path = os.environ.get("KYSO_SOCKET") or (run + "/kyso/agent.sock" if run.startswith("/")
                                             else "/tmp/kyso-%d/agent.sock" % os.getuid())
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(json.dumps({"method": method, "parameters": parameters}).encode() + b"\0")
        reply = b""
        while not reply.endswith(b"\0"):
            chunk = sock.recv(65536)
            if not chunk:
                sys.exit("sign_pdf: the agent closed the connection")
            reply += chunk
    reply = json.loads(reply[:-1])
    if "error" in reply:
        sys.exit("sign_pdf: %s: %s" % (reply["error"], reply["parameters"].get("message", "")))
    return reply["parameters"]


if len(sys.argv) != 4:
    sys.exit("usage: sign_pdf.py CERT_ID IN.pdf OUT.pdf")
cert, src, dst = sys.argv[1:]
pdf = open(src, "rb").read()
prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
if not pdf[prev:].startswith(b"xref"):
    sys.exit("sign_pdf: %s has a cross-reference stream; use kyso sign-pdf" % src)
trailer = pdf[pdf.rindex(b"trailer"):]
size = int(re.search(rb"/Size\s+(\d+)", trailer).group(1))
root, root_gen = re.search(rb"/Root\s+(\d+)\s+(\d+)\s+R", trailer).groups()
keep = b"".join(m.group(0) + b" " for m in re.finditer(rb"/(Info\s+\d+\s+\d+\s+R|ID\s*\[[^\]]*\])", trailer))
# the catalog, as the last revision defines it
catalog = pdf[pdf.rindex(b"\n" + root + b" " + root_gen + b" obj"):]
catalog = catalog[catalog.index(b"<<"):catalog.index(b"endobj")].strip()
if b"/AcroForm" in catalog:
    sys.exit("sign_pdf: %s has a form already; use kyso sign-pdf" % src)

sig, field = size, size + 1
when = time.strftime("D:%Y%m%d%H%M%S+07'00'", time.gmtime(time.time() + 7 * 3600))
new = bytearray(b"" if pdf.endswith(b"\n") else b"\n")
offsets = {}
offsets[sig] = len(pdf) + len(new)
new += (b"%d 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n"
        b"/ByteRange [%s]\n/Contents <" % (sig, b" " * 40))
contents = len(pdf) + len(new) - 1  # the offset of '<'
new += b"0" * (2 * RESERVE) + b">\n/M (%s) >>\nendobj\n" % when.encode()
offsets[field] = len(pdf) + len(new)
new += (b"%d 0 obj\n<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V %d 0 R "
        b"/Rect [0 0 0 0] /F 132 >>\nendobj\n" % (field, sig))
offsets[int(root)] = len(pdf) + len(new)
new += b"%s %s obj\n%s /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>\nendobj\n" % (
    root, root_gen, catalog[:-2].rstrip(), field)
xref = len(pdf) + len(new)
new += b"xref\n%s 1\n%010d %05d n\r\n%d 2\n%010d 00000 n\r\n%010d 00000 n\r\n" % (
    root, offsets[int(root)], int(root_gen), sig, offsets[sig], offsets[field])
new += b"trailer\n<< /Size %d /Root %s %s R %s/Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
    size + 2, root, root_gen, keep, prev, xref)

# the byte range: everything but the placeholder, then its digest
after = contents + 2 * RESERVE + 2
whole = pdf + new
byte_range = b"0 %d %d %d" % (contents, after, len(whole) - after)
at = whole.index(b"/ByteRange [", len(pdf)) + len(b"/ByteRange [")
whole = whole[:at] + byte_range.ljust(40) + whole[at + 40:]
digest = hashlib.sha256(whole[:contents] + whole[after:]).digest()

result = call("io.kyso.Agent.SignDocuments", certificate=cert, profile="pades",
              documents=[{"name": os.path.basename(src), "digest_algorithm": "sha256",
                          "digest": base64.b64encode(digest).decode()}])
doc = result["documents"][0]
if not doc.get("cms"):
    sys.exit("sign_pdf: not signed: %s" % doc.get("message", doc.get("error")))
cms = base64.b64decode(doc["cms"]).hex().encode()
if len(cms) > 2 * RESERVE:
    sys.exit("sign_pdf: the CMS is larger than the %d bytes kept for it" % RESERVE)
whole = whole[:contents + 1] + cms + whole[contents + 1 + len(cms):]
with open(dst, "xb") as f:  # never over an existing file
    f.write(whole)
print("signed: %s -> %s" % (src, dst))
