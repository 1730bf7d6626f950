#!/usr/bin/env python3
"""Fails when two modules of a crate import each other, directly or in a loop (issue 17).

Reads `crate::a::b` paths in each crate's src/ (comments and `mod tests` blocks left out:
tests may reach anywhere) and looks for strongly connected components of more than one module.
"""
import os
import re
import sys


def module_of(root, path):
    parts = os.path.relpath(path, root)[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


def imports(src, me, modules):
    tests = re.search(r"#\[cfg\(test\)\]\n(#\[[^\n]*\]\n)*mod tests", src)
    if tests:
        src = src[: tests.start()]
    code = "\n".join(l for l in src.split("\n") if not l.strip().startswith("//"))
    # `super::x` is the sibling `x` (or, from a folder's mod.rs, the parent's sibling).
    parent = me.rsplit("::", 1)[0] if "::" in me else ""
    code = re.sub(
        r"\bsuper::",
        lambda _: "crate::" + (parent + "::" if parent else ""),
        code,
    )
    found = set()
    for path in re.findall(r"crate::([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)", code):
        parts = path.split("::")
        for k in range(len(parts), 0, -1):
            m = "::".join(parts[:k])
            if m in modules:
                if m != me and not me.startswith(m + "::"):
                    found.add(m)
                break
    for group in re.findall(r"use crate::\{([^}]*)\}", code):
        for name in re.findall(r"\b([a-z_][a-z0-9_]*)\b", group):
            if name in modules and name != me:
                found.add(name)
    return found


def cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def main():
    os.chdir(os.path.join(os.path.dirname(__file__), ".."))
    sys.setrecursionlimit(10_000)
    failed = False
    for crate in sorted(os.listdir("crates")):
        root = f"crates/{crate}/src"
        modules = {}
        for d, _, files in os.walk(root):
            for f in files:
                if f.endswith(".rs"):
                    modules[module_of(root, os.path.join(d, f))] = os.path.join(d, f)
        edges = {m: imports(open(p).read(), m, modules) for m, p in modules.items()}
        for comp in cycles(edges):
            failed = True
            print(f"crates/{crate}: modules import each other: {' ↔ '.join(comp)}")
    if failed:
        sys.exit("module import cycles found: move the shared items into a module of their own")
    print("no module import cycles")


main()
