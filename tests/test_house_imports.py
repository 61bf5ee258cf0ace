"""The architecture, checked on the import graph of vtlab/ (read with ast, nothing imported): the three pillars
never import each other; the shared modules (core, profiling, cli, sysdeps, demo, vision) import no pillar (the
demo names its pillar steps as 'module:function' strings, resolved only when a step runs); and no two modules
import each other, directly or around a loop (imports inside functions count: a lazy import is still a
dependency)."""
import ast
from pathlib import Path
from conftest import ROOT, import_cycles as cycles

PILLARS = ('gaze', 'pupil', 'nails')
LIB = ROOT/'vtlab'

def module_name(path:Path)->str:
    parts = path.relative_to(ROOT).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)

def imports(path:Path)->set[str]:
    "The vtlab modules `path` imports anywhere in it (`if TYPE_CHECKING:` blocks aside)."
    tree, mod = ast.parse(path.read_text(encoding='utf-8')), module_name(path)
    pkg = mod if path.name == '__init__.py' else mod.rpartition('.')[0]
    skip = {id(n) for t in ast.walk(tree) if isinstance(t, ast.If) and 'TYPE_CHECKING' in ast.unparse(t.test) for n in ast.walk(t)}
    out = set()
    for n in ast.walk(tree):
        if id(n) in skip: continue
        if isinstance(n, ast.Import): out |= {a.name for a in n.names if a.name.split('.')[0] == 'vtlab'}
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ''
            if n.level:
                anchor = pkg.split('.')[:len(pkg.split('.')) - (n.level - 1)]
                base = '.'.join(anchor + ([base] if base else []))
            if base.split('.')[0] != 'vtlab': continue
            # `from vtlab.x import y` depends on vtlab.x, or on the submodule vtlab.x.y when there is one
            out |= {f'{base}.{a.name}' if f'{base}.{a.name}' in MODULES else base for a in n.names}
    return {m for m in out if m in MODULES and m != mod}

MODULES = {module_name(p): p for p in LIB.rglob('*.py') if p.name != '_modidx.py'}
GRAPH = {m: imports(p) for m, p in MODULES.items()}

def pillar(mod:str)->str|None:
    parts = mod.split('.')
    return parts[1] if len(parts) > 1 and parts[1] in PILLARS else None

def test_graph_sees_known_edges():
    "Known answer: the recorder imports the encoder, the demo framework imports sysdeps."
    assert 'vtlab.pupil.encode' in GRAPH['vtlab.pupil.record'] and 'vtlab.sysdeps' in GRAPH['vtlab.demo']

def test_no_pillar_imports_another():
    bad = sorted(f'{m} -> {d}' for m, deps in GRAPH.items() for d in deps if pillar(m) and pillar(d) and pillar(d) != pillar(m))
    assert not bad, 'pillars import each other:\n' + '\n'.join(bad)

def test_shared_modules_import_no_pillar():
    bad = sorted(f'{m} -> {d}' for m, deps in GRAPH.items() for d in deps if not pillar(m) and pillar(d))
    assert not bad, 'shared modules import a pillar:\n' + '\n'.join(bad)

def test_cycle_finder():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
    assert cycles({'a': {'b'}, 'b': set()}) == []

def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, 'import loops (module groups that import each other):\n' + '\n'.join(' <-> '.join(c) for c in found)
