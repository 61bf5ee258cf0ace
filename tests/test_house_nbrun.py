"""tools/nbrun.py, the notebook runner of `make test`: a notebook's temporary files go to a scratch folder of its
own, deleted when it ends, passed or failed; its executed copy records what it left there. A real notebook,
executed by the runner's own code in a subprocess, leaves a 2 MB folder with `tempfile.mkdtemp()` and another from
a child process; afterwards /tmp (a private one here) holds nothing of either. And a library that remembers a
notebook's temporary folder and makes it again while a later notebook runs in the same worker (torch's compile
cache does) leaves nothing either."""
import json, os, subprocess, sys
from pathlib import Path
import nbformat, pytest
from conftest import ROOT

LEAVE = '''import os, subprocess, sys, tempfile
from pathlib import Path
kept = Path(tempfile.mkdtemp()); (kept/'blob').write_bytes(bytes(2_000_000))
child = subprocess.run([sys.executable, '-c', 'import tempfile; print(tempfile.mkdtemp())'], capture_output=True, text=True).stdout.strip()
Path(os.environ['VTLAB_TEST_LOG']).write_text(f'{kept}\\n{child}\\n')'''

def run_nbs(tmp_path:Path, notebooks:dict[str, list[str]], *args:str)->tuple[subprocess.CompletedProcess, Path, Path]:
    "Write `notebooks` (name: cells), run them with tools/nbrun.py under a private $TMPDIR; (process, private tmp, copies)."
    (tmp_path/'nbs').mkdir()
    for name, cells in notebooks.items():
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), tmp_path/'nbs'/f'{name}.ipynb')
    private, out = tmp_path/'tmp', tmp_path/'proc'
    private.mkdir()
    env = {**os.environ, 'TMPDIR': str(private), 'VTLAB_TEST_LOG': str(tmp_path/'log.txt')}
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'nbrun.py'), *sorted(map(str, (tmp_path/'nbs').glob('*.ipynb'))), '--out', str(out), *args],
                       cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    return p, private, out

def run_nb(tmp_path:Path, cells:list[str]):
    p, private, out = run_nbs(tmp_path, {'leaky': cells})
    return p, private, out/'leaky.ipynb'

@pytest.mark.parametrize('fails', [False, True])
def test_a_notebook_leaves_no_temporary_files(tmp_path, fails):
    p, private, copy = run_nb(tmp_path, [LEAVE] + (['raise RuntimeError("boom")'] if fails else []))
    assert p.returncode == int(fails), p.stdout + p.stderr
    kept, child = (tmp_path/'log.txt').read_text().split()
    assert kept.startswith(str(private)) and child.startswith(str(private)), (kept, child)  # they went to the scratch folder ...
    assert not Path(kept).exists() and not Path(child).exists()                           # ... which is gone
    assert list(private.iterdir()) == []
    meta = json.loads(copy.read_text())['metadata']['vtlab_nbrun']
    assert meta['ok'] is (not fails) and 1.9 <= meta['scratch_mb'] <= 2.1, meta

def test_a_folder_made_again_later_is_removed_too(tmp_path):
    p, private, _ = run_nbs(tmp_path, {'a': ['import sys, tempfile\nsys.vtlab_kept = tempfile.mkdtemp()'],
                                       'b': ['import os, sys\nfrom pathlib import Path\nos.makedirs(sys.vtlab_kept + "/cache")\n'
                                             'Path(os.environ["VTLAB_TEST_LOG"]).write_text(sys.vtlab_kept)']}, '--n-workers', '1')
    assert p.returncode == 0, p.stdout + p.stderr
    assert (tmp_path/'log.txt').read_text().startswith(str(private))   # b ran after a in the same worker, and made a's folder again
    assert list(private.iterdir()) == []
