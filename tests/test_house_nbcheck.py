"""tools/nbcheck.py, the notebook house rules: each rule on a notebook whose answer is known, then the real ones."""
import json, subprocess, sys
import pytest
from conftest import ROOT
sys.path.insert(0, str(ROOT/'tools'))
import nbcheck

def nb(tmp_path, *cells):
    "A notebook of (kind, source) cells."
    path = tmp_path/'t.ipynb'
    path.write_text(json.dumps(dict(nbformat=4, nbformat_minor=5, metadata={}, cells=[
        dict(cell_type=k, metadata={}, source=s, **(dict(outputs=[], execution_count=None) if k == 'code' else {})) for k, s in cells])))
    return path

def rules(path): return [(i, r) for i, r, _ in nbcheck.check_notebook(path)]

def test_a_clean_notebook_passes(tmp_path):
    sig = '\n'.join(f'    a{i}:int=0, # parameter {i}' for i in range(12))
    body = '\n'.join(f'    x = {i}' for i in range(36))   # 1 + 12 + 1 + 1 + 36 + 1 = 52 lines, 12 of them free: 40
    p = nb(tmp_path, ('markdown', '# t\n\n> A module that says what it does in its own words.'),
           ('code', "#| export\nimport logging, os\nfrom pathlib import Path\n\nlog = logging.getLogger('vtlab.t')"),
           ('code', f'#| export\ndef f(\n{sig}\n)->int: # the answer\n    "Docstring."\n{body}\n    return x'),
           ('code', 'def helper(): return 1\nassert helper() == 1'),                       # tests need no docstring
           ('code', '#| export\ndef g():\n    "Doc."\n    import torch  # a lazy import is fine\n    return torch'),
           ('markdown', 'The random seed is fixed, a recording session starts, planes are split.'))
    assert rules(p) == []

@pytest.mark.parametrize('cells, expected', [
    ([('code', '#| export\n' + '\n'.join(f'x{i} = {i}' for i in range(41)))], [(0, 'size')]),
    ([('code', '#| export\ndef f(\n' + '\n'.join(f'    a{i}=0, # p' for i in range(20)) + '\n):\n    "D."\n' + '\n'.join(f'    x = {i}' for i in range(30)))],
     [(0, 'size')]),                                     # 20 signature lines, 12 free: 30 + 2 + 8 + 1 > 40
    ([('code', 'import json\nx = json.dumps(1)')], [(0, 'imports')]),
    ([('code', '#| export\nimport os\ndef f():\n    "D."\n    return os.sep')], [(0, 'imports')]),
    ([('markdown', "As the seed's loader did, this opens the file once.")], [(0, 'prose')]),
    ([('markdown', 'Seed §2 says so.')], [(0, 'prose')]),
    ([('markdown', "The recorder plan's hot spot.")], [(0, 'prose')]),
    ([('code', 'x = 1  # the goals of issue 6')], [(0, 'prose')]),
    ([('markdown', 'As in the calibration issue, we fit a ridge.')], [(0, 'prose')]),
    ([('markdown', 'Fixed in an earlier session.')], [(0, 'prose')]),
    ([('code', '#| export\ndef f(): return 1\nclass C: pass')], [(0, 'docstring'), (0, 'docstring')]),
    ([('code', '#| export\n@patch\ndef m(self:C): return 1')], [(0, 'docstring')]),
    ([('code', '#| exporti\ndef internal(): return 1')], []),  # internal exports need no docstring
])
def test_each_rule(tmp_path, cells, expected):
    assert rules(nb(tmp_path, *cells)) == expected

def test_command_line(tmp_path):
    bad = nb(tmp_path, ('markdown', 'See issue 4.'))
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'nbcheck.py'), str(bad)], capture_output=True, text=True)
    assert p.returncode == 1 and 'cell 0: prose' in p.stdout, p.stdout + p.stderr
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'nbcheck.py'), '--rules', 'nope'], capture_output=True, text=True)
    assert p.returncode == 2 and 'unknown rule' in p.stderr

SHARED = ['00_core', '01_profiling', '02_demo', '03_cli', '04_sysdeps', '05_vision.models', '05a_vision.crops',
          '05b_vision.ssd', '05c_vision.framecode', 'index']

@pytest.mark.parametrize('name', SHARED)
def test_shared_notebooks_follow_the_house_rules(name):
    probs = nbcheck.check_notebook(ROOT/'nbs'/f'{name}.ipynb')
    assert not probs, '\n'.join(f'cell {i}: {r}: {m}' for i, r, m in probs)

def test_every_notebook_follows_the_house_rules():
    "The whole of nbs/: each pillar's owner fixes their notebooks (tools/nbcheck.py --summary lists them)."
    failing = {str(p.relative_to(ROOT)): len(nbcheck.check_notebook(p)) for p in nbcheck.notebooks([]) if nbcheck.check_notebook(p)}
    assert not failing, f'{len(failing)} notebooks break the house rules (problems per notebook): {failing}'
