#!/usr/bin/env python3
"""Notebook hygiene: the house rules a reader of vtlab's notebooks relies on, checked.

usage: tools/nbcheck.py [NOTEBOOK_OR_FOLDER ...] [--rules size,imports,prose,docstring] [--summary]
       (default: every notebook under nbs/, `.ipynb_checkpoints` and `_*` folders excluded)

Rules (each problem is printed as `path:cell N: rule: message`, N counting cells from 0; exit code 1 when there is any):

- size       An export cell holds at most 40 lines. Blank lines and `#|` directives do not count, and neither
             do the continuation lines of a multi-line `def`/`class` signature (docments: one parameter per
             line with its comment), up to 12 such lines per cell: documenting parameters never forces a
             split, but a long body cannot hide behind it.
- imports    Imports live in their own cells: a code cell whose top-level statements mix `import`/`from ...
             import` with other code is flagged (imports inside functions are fine: they are lazy on purpose).
             The module's logger (`log = logging.getLogger(...)`) may sit with the imports. Not checked in
             index.ipynb, which becomes the README: its examples must run when pasted alone.
- prose      Notebooks say things in their own words: no citing "the seed" (or "seed §2"), "the plan" (or
             "the recorder plan's"), "issue 7" / "the issue", or "this/an earlier session" - text a reader of
             the repository cannot open. Checked in markdown and code (comments and strings are prose too).
- docstring  Every public function or class an export cell defines (name not starting with `_`, `@patch`
             methods included) has a docstring.
"""
from __future__ import annotations
import argparse, ast, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ('size', 'imports', 'prose', 'docstring')
MAX_LINES, FREE_SIGNATURE_LINES = 40, 12

_DIRECTIVE = re.compile(r'^\s*#\s*\|')
_EXPORT = re.compile(r'^\s*#\s*\|\s*(export|exports|exporti)\b', re.M)
_PROSE = [  # (pattern, what to say instead)
    (re.compile(r"\b(?:the|a|this|that)\s+seeds?(?:'s)?\b|\bseed\s*§", re.I), 'cites "the seed"'),
    (re.compile(r"\b(?:the|this|our)\s+(?:\w+\s+)?plan(?:'s)?\b|\bplan(?:'s)?\s*§", re.I), 'cites "the plan"'),
    (re.compile(r"\bissues?\s*#?\s*\d+|\b(?:the|this|that)\s+(?:\w+\s+)?issue(?:'s)?\b", re.I), 'cites an issue'),
    (re.compile(r"\b(?:this|that|the previous|previous|an earlier|earlier|a later|later|last|next|current)\s+"
                r"(?:dev(?:elopment)?\s+|work(?:ing)?\s+|coding\s+)?session\b|\bsession\s+\d+", re.I), 'cites a session'),
]

def _python(src:str)->str:
    "Cell source as plain Python: IPython magics and shell escapes become calls, as IPython itself runs them."
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(src)
    except Exception: return src

def _parse(src:str)->ast.Module|None:
    try: return ast.parse(_python(src))
    except SyntaxError: return None

def _signature_lines(tree:ast.Module)->int:
    "Continuation lines of multi-line def/class signatures (the lines between the header and the body)."
    n = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            n += max(node.body[0].lineno - node.lineno - 1, 0)
    return n

def check_size(src:str, tree:ast.Module|None)->list[str]:
    "Too many counted lines in an export cell."
    lines = [l for l in src.splitlines() if l.strip() and not _DIRECTIVE.match(l)]
    free = min(_signature_lines(tree), FREE_SIGNATURE_LINES) if tree else 0
    n = len(lines) - free
    return [f'{n} lines (limit {MAX_LINES}, signature lines not counted: {free}); split it'] if n > MAX_LINES else []

def _is_import(stmt:ast.stmt)->bool:
    "An import, or a try/if whose bodies only import (optional dependencies)."
    if isinstance(stmt, (ast.Import, ast.ImportFrom)): return True
    if isinstance(stmt, ast.Try):
        return all(_is_import(s) or isinstance(s, ast.Pass) for s in stmt.body) and all(
            all(_is_import(s) or isinstance(s, (ast.Pass, ast.Assign)) for s in h.body) for h in stmt.handlers)
    if isinstance(stmt, ast.If): return all(_is_import(s) for s in stmt.body + stmt.orelse)
    # the module's logger belongs with its imports: `log = logging.getLogger('vtlab.x')`
    return isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) and ast.unparse(stmt.value.func) == 'logging.getLogger'

def check_imports(src:str, tree:ast.Module|None)->list[str]:
    "Top-level imports mixed with other code."
    if tree is None: return []
    body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    imports = [s for s in body if _is_import(s)]
    if imports and len(imports) < len(body):
        names = ', '.join(sorted({a.name.split('.')[0] for s in imports if isinstance(s, (ast.Import, ast.ImportFrom))
                                  for a in (s.names if isinstance(s, ast.Import) else [ast.alias(s.module or '.')])}))
        return [f'imports ({names}) share the cell with other code; give them a cell of their own']
    return []

def check_prose(src:str)->list[str]:
    "Text that cites documents or events outside the repository."
    out = []
    for pat, what in _PROSE:
        for m in pat.finditer(src):
            line = src[:m.start()].count('\n') + 1
            out.append(f'line {line}: {what}: {m.group(0)!r}; say it in the notebook\'s own words')
    return out

def check_docstring(src:str, tree:ast.Module|None)->list[str]:
    "Public top-level functions and classes of an export cell without a docstring."
    if tree is None: return []
    return [f'{n.name} has no docstring' for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not n.name.startswith('_') and not ast.get_docstring(n)]

def check_notebook(path:Path|str, rules=RULES)->list[tuple[int, str, str]]:
    "Problems in one notebook as (cell index, rule, message)."
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    out = []
    for i, cell in enumerate(nb.get('cells', [])):
        src = ''.join(cell.get('source', ''))
        if 'prose' in rules: out += [(i, 'prose', m) for m in check_prose(src)]
        if cell.get('cell_type') != 'code': continue
        tree = _parse(src)
        m = _EXPORT.search(src)
        if 'imports' in rules and Path(path).name != 'index.ipynb': out += [(i, 'imports', m_) for m_ in check_imports(src, tree)]
        if m and 'size' in rules: out += [(i, 'size', m_) for m_ in check_size(src, tree)]
        if m and m.group(1) != 'exporti' and 'docstring' in rules: out += [(i, 'docstring', m_) for m_ in check_docstring(src, tree)]
    return out

def notebooks(paths:list[str])->list[Path]:
    "The notebooks named, or found under the folders named (default nbs/), skipping checkpoints and `_*` folders."
    found = []
    for p in map(Path, paths or [ROOT/'nbs']):
        if p.is_dir():
            found += [f for f in sorted(p.rglob('*.ipynb'))
                      if not any(part.startswith(('_', '.')) for part in f.relative_to(p).parts[:-1])]
        else: found.append(p)
    return found

def main(argv:list[str]|None=None)->int:
    p = argparse.ArgumentParser(prog='nbcheck', description=__doc__.split('\n\n')[0],
                                epilog=__doc__.split('\n\n', 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*', help='notebooks or folders (default: nbs/)')
    p.add_argument('--rules', default=','.join(RULES), help=f'comma-separated subset of {",".join(RULES)}')
    p.add_argument('--summary', action='store_true', help='print one line per failing notebook instead of each problem')
    args = p.parse_args(argv)
    rules = tuple(args.rules.split(','))
    if bad := set(rules) - set(RULES): p.error(f'--rules: unknown rule(s) {sorted(bad)}')
    failing = {}
    for nb in notebooks(args.paths):
        probs = check_notebook(nb, rules)
        if not probs: continue
        name = nb.resolve().relative_to(ROOT) if nb.resolve().is_relative_to(ROOT) else nb
        failing[name] = probs
        if not args.summary:
            for i, rule, msg in probs: print(f'{name}:cell {i}: {rule}: {msg}')
    if args.summary:
        for name, probs in failing.items():
            counts = {r: sum(1 for _, r_, _ in probs if r_ == r) for r in rules}
            print(f'{name}: ' + ', '.join(f'{n} {r}' for r, n in counts.items() if n))
    if failing: print(f'nbcheck: {len(failing)} notebook(s) break the house rules', file=sys.stderr)
    return 1 if failing else 0

if __name__ == '__main__': sys.exit(main())
