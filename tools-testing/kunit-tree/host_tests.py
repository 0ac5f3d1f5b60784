#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Wrap nvmock's host tests (tests/*.rs) as KUnit suites for kunit.py.

Usage: host_tests.py TESTS_DIR OUT_DIR

For every tests/<name>.rs that is not a shared helper (*_util.rs), writes OUT_DIR/<name>.rs:

    #[kernel::macros::kunit_tests(nvmock_model_<name>)]
    mod tests { <prelude> <the file's text> }

and OUT_DIR/mod.rs declaring them. The test source stays in tests/*.rs; the text is embedded
because `#[kunit_tests]` needs an inline module (its `#[test]` functions become the cases)
and rustc does not let a proc macro's input hold `mod x;`. The only changes to the text:

- items that use proptest (the property tests and their strategies) are left out, since
  proptest needs `std` and does not build in the kernel;
- `#[path = "x_util.rs"] mod util;` becomes `mod util { <x_util.rs> }`, likewise;
- messages of `assert!`/`assert_eq!` become comments (KUnit's versions take none);
- `//!` comments become `//`, and inner attributes move to the top of the module;
- the prelude: `use crate::model as nvmock_model;` (the tests' crate is the model) and the
  `std` subset of host_std.rs (Vec, Box, format!, ...).

Prints one line per suite, "<suite> <cases> <left-out property tests>", for the caller.
"""

import os
import re
import sys

PROPTEST = re.compile(r"\bproptest\b|\bprop::|\bprop_assert|\bprop_oneof|\bprop_compose"
                      r"|\bStrategy\b|\bProptestConfig\b|\bany::<")
UTIL_MOD = re.compile(r'#\[path\s*=\s*"([A-Za-z0-9_]+\.rs)"\]\s*((?:pub(?:\([a-z]+\))?\s+)?)'
                      r"mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;")
TEST_ATTR = re.compile(r"#\[test\]")
PRELUDE = ("#[allow(unused_imports)]\n"
           "use crate::host_std::prelude::*;\n"
           "#[allow(unused_imports)]\n"
           "use crate::model as nvmock_model;\n")


class LexError(Exception):
    """The file is not Rust this splitter understands."""


def skip_trivia(s, i):
    """Index of the first character at or after i that is not whitespace or a comment."""
    n = len(s)
    while i < n:
        if s[i].isspace():
            i += 1
        elif s.startswith("//", i):
            j = s.find("\n", i)
            i = n if j < 0 else j + 1
        elif s.startswith("/*", i):
            i = skip_block_comment(s, i)
        else:
            break
    return i


def skip_block_comment(s, i):
    depth = 0
    n = len(s)
    while i < n:
        if s.startswith("/*", i):
            depth += 1
            i += 2
        elif s.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise LexError("unterminated block comment")


def skip_literal(s, i):
    """If a string, byte string, raw string or char literal starts at i, its end; else i."""
    m = re.compile(r'(?:b|c)?r(#*)"').match(s, i)
    if m and (i == 0 or not (s[i - 1].isalnum() or s[i - 1] == "_")):
        end = s.find('"' + m.group(1), m.end())
        if end < 0:
            raise LexError("unterminated raw string")
        return end + 1 + len(m.group(1))
    m = re.compile(r'(?:b|c)?"').match(s, i)
    if m and (i == 0 or not (s[i - 1].isalnum() or s[i - 1] == "_")):
        j = m.end()
        while j < len(s) and s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        if j >= len(s):
            raise LexError("unterminated string")
        return j + 1
    m = re.compile(r"b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'").match(s, i)
    if m and (i == 0 or not (s[i - 1].isalnum() or s[i - 1] == "_")):
        return m.end()
    return i


def items(s):
    """Splits a module body into its items: [(text, is_inner_attribute)], leading comments
    and attributes belonging to the item they precede."""
    out = []
    n = len(s)
    start = 0
    while True:
        i = skip_trivia(s, start)
        if i >= n:
            if s[start:].strip():
                out.append((s[start:], False))
            return out
        inner = s.startswith("#!", i) and s.startswith("[", skip_trivia(s, i + 2))
        # const/static/use/type/let items end at their `;`, even after a `}`.
        head = re.compile(r"(?:(?:pub(?:\([a-z]+\))?\s+)?(?:const|static|use|type|let)\b)")
        kind = None  # "semi": ends at its `;`; "brace": at its closing `}` or a `;`
        depth = 0
        j = i
        while j < n:
            k = skip_literal(s, j)
            if k != j:
                j = k
                continue
            if s.startswith("//", j) or s.startswith("/*", j):
                j = skip_trivia(s, j)
                continue
            c = s[j]
            if depth == 0 and kind is None and (c.isalpha() or c == "_"):
                # The first word after the attributes says how the item ends.
                kind = "semi" if head.match(s, j) else "brace"
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth < 0:
                    raise LexError(f"unbalanced {c!r} at offset {j}")
                if depth == 0 and inner and c == "]":
                    j += 1
                    break
                if depth == 0 and c == "}" and kind == "brace":
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        else:
            raise LexError("item runs off the end of the file")
        # Keep the rest of the line (a trailing comment) with the item.
        eol = s.find("\n", j)
        eol = n if eol < 0 else eol + 1
        if s[j:eol].strip() == "" or s[j:eol].lstrip().startswith("//"):
            j = eol
        out.append((s[start:j], inner))
        start = j


def wrap(text, tests_dir, name):
    """The body of the inline module for one file: (text, cases, left-out proptests)."""
    inner_attrs = []
    body = []
    cases = 0
    dropped = 0
    for item, inner in items(text):
        code = re.sub(r"(?m)^(\s*)//!", r"\1//", item)
        if inner:
            inner_attrs.append(code.strip())
            continue
        if PROPTEST.search(strip_comments(item)):
            dropped += len(TEST_ATTR.findall(item))
            body.append(f"\n// (host only, uses proptest: {describe(item)})\n")
            continue
        m = UTIL_MOD.search(code)
        if m:
            path = os.path.join(tests_dir, m.group(1))
            with open(path, encoding="utf-8") as f:
                util, _, _ = wrap(f.read(), tests_dir, m.group(3))
            code = (code[:m.start()] + f"{m.group(2)}mod {m.group(3)} {{\n{util}\n}}"
                    + code[m.end():])
        elif re.search(r"(?m)^\s*(?:pub\s+)?mod\s+\w+\s*;", strip_comments(code)):
            raise LexError(f"{name}: a non-inline module other than #[path = \"*_util.rs\"]")
        cases += len(TEST_ATTR.findall(strip_comments(code)))
        body.append(drop_messages(code))
    head = "".join(a + "\n" for a in inner_attrs)
    return head + PRELUDE + "".join(body), cases, dropped


COMPARES = re.compile(r"==|!=|<|>|&&|\|\|")
ASSERT = re.compile(r"(?<![\w:])(assert|assert_eq)!\s*\(")


def drop_messages(code):
    """`assert!(c, "...", ..)` -> `assert!(c /* "..", .. */)`, likewise `assert_eq!`: the
    `#[kunit_tests]` versions take no message. The message stays in the generated file, next
    to the line a failure names."""
    out = []
    pos = 0
    in_code = code_mask(code)
    for m in ASSERT.finditer(code):
        if m.start() < pos or not in_code[m.start()]:
            continue
        need = 1 if m.group(1) == "assert" else 2
        depth = 1
        angle = 0
        j = m.end()
        commas = []
        while depth:
            if j >= len(code):
                raise LexError(f"unterminated {m.group(1)}!")
            k = skip_literal(code, j)
            if k != j:
                j = k
                continue
            if code.startswith("//", j) or code.startswith("/*", j):
                j = skip_trivia(code, j)
                continue
            c = code[j]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            elif c == "<" and (angle or code[:j].rstrip().endswith("::")):
                # A turbofish's generic arguments: `f::<A, B>()`.
                angle += 1
            elif c == ">" and angle and code[j - 1] != "-":
                angle -= 1
            elif c == "," and depth == 1 and not angle:
                commas.append(j)
            j += 1
        close = j - 1
        # A trailing comma is not a message.
        if commas and code[commas[-1] + 1:close].strip() == "":
            commas.pop()
        bounds = [m.end() - 1] + commas[:need] + ([] if len(commas) >= need else [close])
        args = [code[a + 1:b] for a, b in zip(bounds, bounds[1:])]
        if len(args) != need:
            raise LexError(f"{m.group(1)}! with {len(args)} arguments")
        if need == 2:
            # KUnit's assert_eq! compares `$left == $right` as written: `a != b` as an
            # argument would chain comparisons.
            args = [f"({a.strip()})" if COMPARES.search(strip_comments(a)) else a for a in args]
        msg = ""
        if len(commas) >= need:
            msg = " ".join(code[commas[need - 1] + 1:close].split()).replace("*/", "* /")
            msg = f" /* {msg} */"
        out.append(code[pos:m.end()] + ",".join(args) + msg + ")")
        pos = close + 1
    out.append(code[pos:])
    return "".join(out)


def code_mask(s):
    """For each character of s: 1 if it is code, 0 if in a comment or a literal."""
    mask = bytearray(b"\1" * (len(s) + 1))
    i = 0
    while i < len(s):
        k = skip_literal(s, i)
        if k == i and (s.startswith("//", i) or s.startswith("/*", i)):
            k = skip_trivia(s, i)
        if k != i:
            mask[i:k] = bytes(k - i)
            i = k
        else:
            i += 1
    return mask


def strip_comments(s):
    """s without its comments (literals kept), to look for attributes and names."""
    out = []
    i = 0
    n = len(s)
    while i < n:
        k = skip_literal(s, i)
        if k != i:
            out.append(s[i:k])
            i = k
        elif s.startswith("//", i) or s.startswith("/*", i):
            i = skip_trivia(s, i)
            out.append(" ")
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def describe(item):
    """A short name for a left-out item."""
    code = strip_comments(item)
    tests = re.findall(r"#\[test\][^{;]*?\bfn\s+(\w+)", code)
    if tests:
        return "tests " + ", ".join(tests)
    m = re.search(r"\b(mod|fn|struct|enum|impl|const|static|use)\b\s*([\w:]*)", code)
    return f"{m.group(1)} {m.group(2)}".strip() if m else code.strip()[:40]


def main():
    tests_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    mods = []
    for fname in sorted(os.listdir(tests_dir)):
        if not fname.endswith(".rs") or fname.endswith("_util.rs"):
            continue
        name = fname[:-3]
        with open(os.path.join(tests_dir, fname), encoding="utf-8") as f:
            text = f.read()
        try:
            body, cases, dropped = wrap(text, tests_dir, name)
        except LexError as e:
            sys.exit(f"host_tests.py: tests/{fname}: {e}")
        if cases == 0:
            print(f"nvmock_model_{name} 0 {dropped}")
            continue
        mods.append(name)
        with open(os.path.join(out_dir, fname), "w", encoding="utf-8") as f:
            f.write(f"// SPDX-License-Identifier: GPL-2.0\n"
                    f"// Generated by tools-testing/kunit-tree/host_tests.py from tests/{fname}:\n"
                    f"// edit that file, not this one.\n\n"
                    f"#[kernel::macros::kunit_tests(nvmock_model_{name})]\n"
                    f"mod tests {{\n{body}\n}}\n")
        print(f"nvmock_model_{name} {cases} {dropped}")
    with open(os.path.join(out_dir, "mod.rs"), "w", encoding="utf-8") as f:
        f.write("// SPDX-License-Identifier: GPL-2.0\n"
                "// Generated by tools-testing/kunit-tree/host_tests.py: one suite per tests/*.rs.\n\n")
        for name in mods:
            f.write(f"mod {name};\n")


if __name__ == "__main__":
    main()
