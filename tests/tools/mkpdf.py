#!/usr/bin/python3
# mkpdf.py — small PDFs with the structures kyso's PDF tests need, written by hand.
#
#   mkpdf.py KIND OUT.pdf [N]
#
# KIND:
#   pages N    N pages of text (a classic cross-reference table)
#   form       a form: an indirect /AcroForm whose /Fields is a direct array holding a
#              text field "Name" (merged with its widget), an indirect /Annots array
#   form-direct  the /AcroForm direct in the catalog, /Fields an indirect array
#   docmdp     certified with "no changes allowed": /Perms /DocMDP names a signature
#              dictionary whose DocMDP transform has /P 1
#   noeol      one page, the file ending in "%%EOF" without an end of line
#   scan KB [SEED]  a scanned letter of about KB KiB: two pages, each a grey image of
#              random bytes (the benchmark's documents; SEED makes each one different)
# Every file is a valid PDF 1.7 (qpdf --check passes).
import sys


def build(objs, root=1, eol=True):
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, body in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF" % (len(objs) + 1, root, x)
    if eol:
        out += b"\n"
    return bytes(out)


def stream(data):
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def text_page(n):
    return stream(b"BT /F1 24 Tf 72 720 Td (Page %d of a test letter) Tj ET" % n)


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pages(n):
    # 1 catalog, 2 pages, 3 font, then page/content pairs
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n, FONT]
    for i in range(n):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                    b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i))
        objs.append(text_page(i + 1))
    return objs


def form(direct):
    # 1 catalog, 2 pages, 3 font, 4 page, 5 content, 6 field+widget, 7 annots, 8 acroform/fields
    objs = pages(1)
    objs[3] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
               b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R /Annots 7 0 R >>")
    objs.append(b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Name) /V (Nguyen) "
                b"/Rect [72 600 300 620] /P 4 0 R /F 4 >>")
    objs.append(b"[6 0 R]")
    if direct:
        objs[0] = (b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields 8 0 R "
                   b"/DA (/Helv 0 Tf 0 g) >> >>")
        objs.append(b"[6 0 R]")
    else:
        objs[0] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm 8 0 R >>"
        objs.append(b"<< /Fields [6 0 R] /DA (/Helv 0 Tf 0 g) >>")
    return objs


def docmdp():
    objs = pages(1)
    # 6: the certification signature's dictionary (its value is not a real signature:
    # kyso must refuse before it looks at one)
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R /Perms << /DocMDP 6 0 R >> >>"
    objs.append(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                b"/ByteRange [0 0 0 0] /Contents <00> /Reference [<< /Type /SigRef "
                b"/TransformMethod /DocMDP /TransformParams << /Type /TransformParams "
                b"/P 1 /V /1.2 >> >>] >>")
    return objs


def scan(kb, seed):
    import random
    rnd = random.Random(seed)
    side = int((kb * 1024 / 2) ** 0.5)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>"]
    for p in range(2):
        n = 3 + 3 * p
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
                    b"<< /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (n + 2, n + 1))
        objs.append(stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q"))
        img = rnd.randbytes(side * side)
        objs.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
                    b"/DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n" % (side, side, len(img))
                    + img + b"\nendstream")
    return objs


kind, out = sys.argv[1], sys.argv[2]
if kind == "pages":
    data = build(pages(int(sys.argv[3])))
elif kind == "form":
    data = build(form(False))
elif kind == "form-direct":
    data = build(form(True))
elif kind == "docmdp":
    data = build(docmdp())
elif kind == "scan":
    data = build(scan(int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0))
elif kind == "noeol":
    data = build(pages(1), eol=False)
else:
    sys.exit("mkpdf.py: unknown kind " + kind)
with open(out, "wb") as f:
    f.write(data)
