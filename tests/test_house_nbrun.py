"""tools/nbrun.py, the notebook runner of `make test`: a notebook's temporary files go to a scratch folder of its
own, deleted when it ends, passed or failed; its executed copy records what it left there. A real notebook,
executed by the runner's own code in a subprocess, leaves a 2 MB folder with `tempfile.mkdtemp()` and another from
a child process; afterwards /tmp (a private one here) holds nothing of either."""
import json, os, subprocess, sys
from pathlib import Path
import nbformat, pytest
from conftest import ROOT

LEAVE = '''import os, subprocess, sys, tempfile
from pathlib import Path
kept = Path(tempfile.mkdtemp()); (kept/'blob').write_bytes(bytes(2_000_000))
child = subprocess.run([sys.executable, '-c', 'import tempfile; print(tempfile.mkdtemp())'], capture_output=True, text=True).stdout.strip()
Path(os.environ['VTLAB_TEST_LOG']).write_text(f'{kept}\\n{child}\\n')'''

def run_nb(tmp_path:Path, cells:list[str])->tuple[subprocess.CompletedProcess, Path, Path]:
    "Write a notebook of `cells`, run it with tools/nbrun.py under a private $TMPDIR; (process, private tmp, copy)."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    (tmp_path/'nbs').mkdir(); fn = tmp_path/'nbs'/'leaky.ipynb'; nbformat.write(nb, fn)
    private, out = tmp_path/'tmp', tmp_path/'proc'
    private.mkdir()
    env = {**os.environ, 'TMPDIR': str(private), 'VTLAB_TEST_LOG': str(tmp_path/'log.txt')}
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'nbrun.py'), str(fn), '--out', str(out)], cwd=ROOT,
                       capture_output=True, text=True, env=env, timeout=300)
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
