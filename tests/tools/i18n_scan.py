#!/usr/bin/python3
"""i18n_scan.py — string literals for people that are not marked for translation.

    i18n_scan.py [--allow FILE] [--list] SOURCE.c...

Reads C sources the way a compiler's lexer does (comments, preprocessor lines, string and
character literals, adjacent literals joined into one string) and keeps, for every
string, the innermost call it is an argument of. A string is *marked* when that call is
_(), N_(), P_() or C_() (common/i18n.h). An unmarked string is reported when it reads as words
for people: at least two words of two or more letters separated by a space, once the
printf directives are taken out: two or more words of two letters or more, and a space
between letters ("%s (pid %ld)", "/proc/%ld/exe" and "{s:s, s:o}" are not; "no such
certificate" and "not a readable X.509 certificate" are). Not reported:
  - the arguments of kysod's log functions (log_error, log_warn, log_info, log_debug):
    log lines stay English on purpose (docs/translating.md);
  - strings compared with input (strcmp, strncmp, strcasecmp, strncasecmp, strstr):
    they are never shown;
  - strings listed in the allow-list (po/untranslated.txt: "FILE<TAB>STRING<TAB>why",
    STRING as C would write it, without the quotes, or "*" for every string of a file
    that speaks only to programs), each with its reason: protocol texts, formats of
    machine-read output, and the like. An allow-list line that no longer matches a
    string is reported too, so the list cannot rot.
Macro bodies (#define) are read as code; other preprocessor lines are skipped.
Exit status 1 when anything is reported, with "FILE:LINE: STRING" lines; --list prints
every unmarked string that reads as words, reported or not (for reviewing the list).
"""
import re
import sys

MARKS = {"_", "N_", "P_", "C_"}
LOG = {"log_error", "log_warn", "log_info", "log_debug"}
COMPARE = {"strcmp", "strncmp", "strcasecmp", "strncasecmp", "strstr"}
DIRECTIVE = re.compile(r"%(?:\d+\$)?[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
                       r"(?:hh|h|ll|l|L|j|z|t|q)?[diouxXeEfFgGaAcspn%]")
WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z]{2,}(?![A-Za-z0-9_])")


def lex(text):
    """Yields (kind, value, line): 'id', 'str' (decoded, joined later), 'punct'."""
    i, n, line = 0, len(text), 1
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "\\" and i + 1 < n and text[i + 1] == "\n":
            line += 1   # a continued line (a macro's body)
            i += 2
            continue
        if at_line_start and c == "#":
            m = re.match(r"#\s*define\s+[A-Za-z_][A-Za-z_0-9]*(\([^)]*\))?", text[i:i + 200])
            if m:
                # a macro's body is read as code: its strings are checked too
                i += len(m.group(0))
                at_line_start = False
                continue
            # any other preprocessor line, with its continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    line += 1
                    i += 2
                    continue
                if text.startswith("/*", i):
                    j = text.find("*/", i + 2)
                    line += text.count("\n", i, j)
                    i = j + 2
                    continue
                i += 1
            continue
        at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            line += text.count("\n", i, j)
            i = j + 2
            continue
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            raw = text[i + 1:j]
            if c == '"':
                yield ("str", raw, line)
            else:
                yield ("chr", raw, line)
            i = j + 1
            continue
        m = re.match(r"[A-Za-z_][A-Za-z_0-9]*", text[i:i + 64])
        if m:
            yield ("id", m.group(0), line)
            i += len(m.group(0))
            continue
        m = re.match(r"[0-9][0-9A-Za-z_.]*", text[i:i + 64])
        if m:
            yield ("num", m.group(0), line)
            i += len(m.group(0))
            continue
        yield ("punct", c, line)
        i += 1


def strings(path):
    """Yields (line, literal as written, innermost call name or None)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stack = []          # the call (or None for a plain parenthesis / brace) per level
    prev = None         # the previous token
    pending = None      # [line, parts, call] of adjacent string literals
    for kind, value, line in lex(text):
        if kind == "str":
            if pending is None:
                pending = [line, [value], stack[-1] if stack else None]
            else:
                pending[1].append(value)
            prev = (kind, value)
            continue
        if pending is not None:
            yield pending[0], "".join(pending[1]), pending[2]
            pending = None
        if kind == "punct" and value in "([{":
            if value == "(" and prev is not None and prev[0] == "id":
                stack.append(prev[1])
            else:
                stack.append(None)
        elif kind == "punct" and value in ")]}":
            if stack:
                stack.pop()
        prev = (kind, value)
    if pending is not None:
        yield pending[0], "".join(pending[1]), pending[2]


def reads_as_words(literal):
    s = literal.replace("\\n", " ").replace("\\t", " ").replace('\\"', '"')
    s = DIRECTIVE.sub("", s)
    return len(WORD.findall(s)) >= 2 and re.search(r"[A-Za-z]\S*\s+\S*[A-Za-z]", s) is not None


def load_allow(path):
    allow = {}
    if path is None:
        return allow
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 3 or not parts[2].strip():
                sys.stderr.write("%s:%d: want FILE<TAB>STRING<TAB>why\n" % (path, n))
                sys.exit(2)
            allow[(parts[0], parts[1])] = [n, 0]   # STRING "*": every string of FILE
    return allow


def main(argv):
    allow_path, listing, files = None, False, []
    i = 0
    while i < len(argv):
        if argv[i] == "--allow":
            allow_path = argv[i + 1]
            i += 2
        elif argv[i] == "--list":
            listing = True
            i += 1
        else:
            files.append(argv[i])
            i += 1
    allow = load_allow(allow_path)
    bad = 0
    for path in files:
        for line, lit, call in strings(path):
            if call in MARKS or not reads_as_words(lit):
                continue
            if listing:
                print("%s:%d: [%s] \"%s\"" % (path, line, call or "-", lit))
                continue
            if call in LOG or call in COMPARE:
                continue
            key = (path, lit)
            if key not in allow:
                key = (path, "*")
            if key in allow:
                allow[key][1] += 1
                continue
            print("%s:%d: \"%s\"" % (path, line, lit))
            bad += 1
    if not listing:
        scanned = set(files)
        for (path, lit), (n, used) in sorted(allow.items()):
            if used == 0 and path in scanned:
                print("%s:%d: no longer in %s: \"%s\"" % (allow_path, n, path, lit))
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
