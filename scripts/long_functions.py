#!/usr/bin/env python3
"""long_functions.py: list C++ function definitions longer than N lines.

    scripts/long_functions.py [-n LINES] [--no-tests] [PATH ...]

PATHs are files or directories (default: src server tools bench, relative to
the repository root). Prints one line per function longer than LINES (default
120), longest first:

    <lines>  <file>:<first line>  <name>  [one data table]

and a final summary line. "[one data table]" marks a body holding a braced
list, without control flow, of at most three statements (a table of rows
built and returned): long because of its rows, not its logic. Exit status 0
whatever it finds: this is a report for people (docs: "functions under ~120
lines unless a single state machine"), not a gate of `make test`.

A function's length counts the lines from the one holding its name to the one
holding its closing brace, both included (comments and blank lines inside
count too). --no-tests leaves out *_test.cc, *_fuzz.cc and *testutil* files.

How it works, and its limits (a brace-matching heuristic, not a parser):
  * Comments, string and character literals (raw strings included) and
    preprocessor lines are blanked first, so braces inside them do not count.
    Code that is balanced only per #if branch (an `{` in both the #if and the
    #else) miscounts; the repository has none today.
  * A `{` at namespace or class scope opens a function body when the text
    since the previous `;`, `{`, `}` or access label contains a `(` and does
    not start with namespace/class/struct/union/enum/extern or hold an `=`
    before its first `(` (a variable's brace initialiser). Everything inside
    a function body - lambdas, local classes - belongs to that function.
  * A constructor's brace initialisers (`Foo() : a_{1}, b_{} {`) are told
    from its body by the `) :` before them and the member name ending the
    text before the brace; braces inside open parentheses (default
    arguments `= {}`, a lambda in an initialiser list) are skipped.
  * Lambdas at namespace scope (`auto f = [](...) {`) are not reported, nor
    are functions written entirely by a macro; lambdas in the rows of a
    namespace-scope table are reported as `[]`. Macro invocations used as
    function heads (TEST, TEST_F, TEST_P) are reported under the macro text.
  * The name is the (qualified) identifier before the first top-level `(` of
    the head, e.g. `DBImpl::Write` or `TEST_F(DBTest, Reopen)`.
"""

import argparse
import os
import re
import sys

DEFAULT_DIRS = ["src", "server", "tools", "bench"]
EXTENSIONS = (".cc", ".cpp", ".h", ".hpp")


def blank_non_code(text):
    """Returns text with comments, literals and preprocessor lines replaced by
    spaces (newlines kept, so line numbers still match)."""
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            out.append(c)
            i += 1
            at_line_start = True
            continue
        if at_line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if at_line_start and c == "#":
            # A preprocessor line, with its backslash continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        raw = re.match(r'(?:u8|u|U|L)?R"([^ ()\\\t\n]{0,16})\(', text[i:i + 24])
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            closing = ")" + raw.group(1) + '"'
            end = text.find(closing, i + raw.end())
            end = n if end < 0 else end + len(closing)
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        if c in "\"'":
            # A digit separator (1'000'000) is not a character literal.
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


NON_FUNCTION_HEAD = re.compile(r"^\s*(?:template\s*<.*>\s*)?(namespace|class|struct|union|enum|extern)\b",
                               re.S)
ACCESS_LABEL = re.compile(r"\b(public|private|protected)\s*:(?!:)")


CTOR_INIT_COLON = re.compile(r"\)\s*(?:noexcept\s*)?:(?!:)")
HEAD_SUFFIXES = {"const", "override", "final", "noexcept", "mutable", "try", "volatile"}


def is_member_initializer(head):
    """True if the `{` after head opens a member's brace initialiser in a
    constructor's initialiser list (`... ) : a_(1), b_{`), not the body."""
    if not CTOR_INIT_COLON.search(head):
        return False
    m = re.search(r"(\w+)\s*(?:<[^<>]*>)?\s*$", head)
    return m is not None and m.group(1) not in HEAD_SUFFIXES


def function_name(head):
    """The identifier before the first top-level '(' of a function head."""
    depth = 0
    for k, ch in enumerate(head):
        if ch in "<[":
            depth += 1
        elif ch in ">]":
            depth = max(0, depth - 1)
        elif ch == "(":
            before = head[:k].rstrip()
            m = re.search(r"((?:[A-Za-z_~][\w]*\s*(?:<[^()<>]*>)?\s*::\s*)*"
                          r"(?:operator\s*[^\s(]+|operator\s*\(\s*\)|~?[A-Za-z_]\w*))$", before)
            if m:
                name = re.sub(r"\s+", "", m.group(1))
                if re.fullmatch(r"TEST\w*", name):
                    close = head.find(")", k)
                    return name + re.sub(r"\s+", " ", head[k:close + 1])
                return name
            return before.split()[-1] if before.split() else "?"
    return "?"


def is_function_head(head):
    if "(" not in head:
        return False
    if NON_FUNCTION_HEAD.match(head):
        return False
    # An `=` before the first `(` makes a variable's initialiser, unless it is
    # part of an operator's name.
    head = re.sub(r"\boperator\s*(?:\(\s*\)|[^\s(]+)", "operator", head)
    if "(" not in head or "=" in head[:head.index("(")]:
        return False
    return True


CONTROL_FLOW = re.compile(r"\b(if|else|for|while|do|switch|case|goto|try|catch)\b")


def is_data_table(body):
    """True if a function body (comments and literals blanked) is one data
    table: a braced list, no control flow and at most three statements at
    its top level (say `using ...; std::vector<Row> t = {...}; return t;`)."""
    if CONTROL_FLOW.search(body) or "{" not in body:
        return False
    depth, statements = 0, 0
    for ch in body:
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == ";" and depth == 0:
            statements += 1
    return statements <= 3


def scan(path):
    """Yields (name, first_line, last_line, is_data_table) for every function
    defined in path."""
    with open(path, encoding="utf-8", errors="replace") as f:
        code = blank_non_code(f.read())
    head_start = 0  # offset where the current head (statement) begins
    newlines = [m.start() for m in re.finditer("\n", code)]

    def line_of(offset):
        lo, hi = 0, len(newlines)
        while lo < hi:
            mid = (lo + hi) // 2
            if newlines[mid] < offset:
                lo = mid + 1
            else:
                hi = mid
        return lo + 1

    # Outside function bodies braces open scopes whose contents are scanned like
    # the file's; inside one only its depth matters.
    fn_depth = 0  # brace depth inside the current function body
    fn_name, fn_line, body_start = None, 0, 0
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if fn_depth > 0:
            if c == "{":
                fn_depth += 1
            elif c == "}":
                fn_depth -= 1
                if fn_depth == 0:
                    yield fn_name, fn_line, line_of(i), is_data_table(code[body_start:i])
                    head_start = i + 1
            i += 1
            continue
        if c == "{":
            head = code[head_start:i]
            label = None
            for label in ACCESS_LABEL.finditer(head):
                pass
            if label:
                head = head[label.end():]
                head_start_eff = head_start + label.end()
            else:
                head_start_eff = head_start
            if head.count("(") > head.count(")") or (is_function_head(head) and
                                                     is_member_initializer(head)):
                # A brace inside parentheses (a default argument `= {}`, a
                # lambda in a constructor's initialiser list) or a member's
                # brace initialiser (`Foo::Foo() : x_{0} {`): skip it; the
                # head goes on to the body.
                depth = 1
                i += 1
                while i < n and depth > 0:
                    depth += {"{": 1, "}": -1}.get(code[i], 0)
                    i += 1
                continue
            if is_function_head(head):
                fn_depth = 1
                body_start = i + 1
                fn_name = function_name(head)
                stripped = len(head) - len(head.lstrip())
                fn_line = line_of(head_start_eff + stripped)
            # Otherwise a namespace, class or initialiser: keep scanning inside it.
            head_start = i + 1
        elif c == "}":
            head_start = i + 1
        elif c == ";":
            head_start = i + 1
        i += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--lines", type=int, default=120,
                        help="report functions longer than this many lines (default 120)")
    parser.add_argument("--no-tests", action="store_true",
                        help="skip *_test.cc, *_fuzz.cc and *testutil* files")
    parser.add_argument("paths", nargs="*", help="files or directories (default: %s)" %
                        " ".join(DEFAULT_DIRS))
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = args.paths or [os.path.join(root, d) for d in DEFAULT_DIRS]

    files = []
    for p in paths:
        if os.path.isdir(p):
            for dirpath, _, names in os.walk(p):
                files.extend(os.path.join(dirpath, name) for name in names if name.endswith(EXTENSIONS))
        elif os.path.isfile(p):
            files.append(p)
        else:
            print("long_functions: no such file or directory: %s" % p, file=sys.stderr)
            return 2
    if args.no_tests:
        files = [f for f in files
                 if not re.search(r"(_test|_fuzz)\.\w+$|testutil", os.path.basename(f))]

    # Files are shown from the repository root, or from the current directory
    # when the paths were given.
    base = os.getcwd() if args.paths else root
    found = []
    for path in sorted(files):
        for name, first, last, data in scan(path):
            length = last - first + 1
            if length > args.lines:
                found.append((length, os.path.relpath(path, base), first, name, data))
    found.sort(key=lambda r: (-r[0], r[1], r[2]))
    for length, path, first, name, data in found:
        print("%5d  %s:%d  %s%s" % (length, path, first, name, "  [one data table]" if data else ""))
    print("long_functions: %d function(s) longer than %d lines in %d file(s)" %
          (len(found), args.lines, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
