"""The gaze runtime without torch: no import cycles among the gaze modules, no torch on the import path of the
runtime modules, and one real frame through `GazePipeline` (plus a calibration mapper) with torch blocked."""
import ast, json, subprocess, sys, textwrap
from pathlib import Path
import pytest
from conftest import ROOT, import_cycles

RUNTIME_MODULES = ('vtlab.gaze.runtime', 'vtlab.gaze.face', 'vtlab.gaze.calibration', 'vtlab.gaze.track',
                   'vtlab.gaze.stream', 'vtlab.gaze.screen', 'vtlab.gaze.smoothing', 'vtlab.gaze.geometry')
HEAVY = ('torch', 'tensorflow', 'torchvision', 'timm')

def _module_name(py:Path)->str:
    parts = py.relative_to(ROOT).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)

def _imports(py:Path)->list[tuple[str, bool]]:
    "(imported module, at module level?) for every import statement in a file, relative imports resolved."
    mod = _module_name(py)
    pkg = mod if py.name == '__init__.py' else mod.rpartition('.')[0]
    tree = ast.parse(py.read_text(encoding='utf-8'))
    top = {id(n) for stmt in tree.body for n in ast.walk(stmt)
           if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    top |= {id(n) for stmt in tree.body if isinstance(stmt, ast.ClassDef) for n in stmt.body
            if isinstance(n, (ast.Import, ast.ImportFrom))}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import): names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = pkg.split('.')[:len(pkg.split('.')) - node.level + 1]
                base = '.'.join(anchor + ([node.module] if node.module else []))
            names = [base] + [f'{base}.{a.name}' for a in node.names]
        else: continue
        out += [(n, id(node) in top) for n in names]
    return out

def import_graph()->tuple[dict, dict]:
    "({module: modules it imports at module level}, {module: modules it imports anywhere}), vtlab modules plus heavy libraries."
    files = {_module_name(p): p for p in (ROOT/'vtlab').rglob('*.py')}
    top, every = {m: set() for m in files}, {m: set() for m in files}
    for m, p in files.items():
        for name, at_top in _imports(p):
            target = name if name in files else name.split('.')[0] if name.split('.')[0] in HEAVY else None
            if target is None and name.rpartition('.')[0] in files: target = name.rpartition('.')[0]   # from pkg import function
            if target is None or target == m: continue
            every[m].add(target)
            if at_top: top[m].add(target)
    return top, every

_cycles = import_cycles   # Tarjan's strongly connected components, shared with tests/test_house_imports.py

def test_gaze_modules_have_no_import_cycles():
    top, every = import_graph()
    gaze = {m for m in every if m.startswith('vtlab.gaze')}
    assert gaze >= set(RUNTIME_MODULES)
    assert _cycles(every, gaze) == [], 'import cycles (counting imports inside functions)'

def test_runtime_modules_never_import_torch_at_module_level():
    top, _ = import_graph()
    for m in RUNTIME_MODULES:
        seen, todo = set(), [m]
        while todo:
            x = todo.pop()
            if x in seen: continue
            seen.add(x); todo += [y for y in top.get(x, ()) if y.startswith('vtlab')]
        heavy = {x: sorted(h for h in top[x] if h in HEAVY) for x in seen if any(h in HEAVY for h in top[x])}
        assert heavy == {}, f'{m} pulls torch/TensorFlow in through {heavy}'
        assert not any(x in seen for x in ('vtlab.gaze.models', 'vtlab.gaze.train', 'vtlab.gaze.personal')), (m, sorted(seen))

@pytest.fixture(scope='module')
def frame_and_model(tmp_path_factory):
    "One astronaut frame (PNG) and the default gaze model's ONNX, made with whatever this process may import."
    pytest.importorskip('ai_edge_litert')
    import cv2
    from vtlab.vision.models import fetch_models, FACE_MODELS
    from vtlab.gaze.runtime import astronaut_frame, astronaut_motion, default_gaze_model
    fetch_models(FACE_MODELS, verbose=False)
    d = tmp_path_factory.mktemp('torchfree')
    cv2.imwrite(str(d/'frame.png'), astronaut_frame(astronaut_motion(0, 10)))
    return d/'frame.png', Path(default_gaze_model())

CHILD = '''
import json, sys
sys.modules['torch'] = None; sys.modules['tensorflow'] = None       # any `import torch` now raises ImportError
import importlib, cv2, numpy as np
for m in {modules!r}: importlib.import_module(m)
from vtlab.gaze.runtime import GazePipeline, GazeModel
from vtlab.gaze.screen import ScreenConfig
from vtlab.gaze.calibration import RidgeMapper, calibration_targets
frame = cv2.imread({frame!r})
pipe = GazePipeline(gaze_model=GazeModel({model!r}), smoother='none')
called = set()
def prof(fr, event, arg):
    if event == 'call': called.add(fr.f_globals.get('__name__', '?'))
sys.setprofile(prof); s = pipe.process(frame, 0.0); sys.setprofile(None)
assert s.face and np.isfinite([s.gaze_pitch, s.gaze_yaw, s.raw_x_norm]).all(), s
t = calibration_targets(9)
recs = [dict(s.to_record((640, 480)), gaze_pitch=s.gaze_pitch + 0.1 * (y - 0.5), gaze_yaw=s.gaze_yaw - 0.2 * (x - 0.5)) for x, y in t]
mapper = RidgeMapper(ScreenConfig()).fit(recs, t)
c = GazePipeline(gaze_model=pipe.gaze_model, smoother='none', screen_mapper=mapper).process(frame, 0.0)
assert c.face and np.isfinite([c.raw_x_norm, c.raw_y_norm]).all(), c
print(json.dumps(dict(torch=repr(sys.modules.get('torch')), called=sorted(called),
                      gaze=[s.gaze_pitch, s.gaze_yaw], mapped=[c.raw_x_norm, c.raw_y_norm])))
'''

def test_one_frame_through_the_runtime_without_torch(frame_and_model):
    frame, model = frame_and_model
    code = CHILD.format(modules=RUNTIME_MODULES, frame=str(frame), model=str(model))
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-4000:]
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res['torch'] == 'None'
    # The frame's way through the code is direct: the runtime, its stages and the shared vision/core layers only.
    allowed = {'vtlab.gaze.runtime', 'vtlab.gaze.face', 'vtlab.gaze.geometry', 'vtlab.gaze.smoothing', 'vtlab.gaze.screen',
               'vtlab.vision.models', 'vtlab.vision.crops', 'vtlab.vision.ssd', 'vtlab.profiling', 'vtlab.core'}
    vtlab_called = {m for m in res['called'] if m.startswith('vtlab')}
    assert vtlab_called <= allowed, vtlab_called - allowed
    assert {'vtlab.gaze.runtime', 'vtlab.gaze.face', 'vtlab.gaze.geometry'} <= vtlab_called
