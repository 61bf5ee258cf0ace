"Shared pytest fixtures: run vtlab commands from the project's venv with outputs in a temporary folder."
import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def run_cmd(cmd:list[str], env:dict|None=None, timeout:float=600, **kw)->subprocess.CompletedProcess:
    "Run a console script from this venv, failing the test with its output if it exits non-zero."
    exe = shutil.which(cmd[0], path=str(BIN)) or cmd[0]
    p = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=timeout, cwd=kw.pop('cwd', ROOT),
                       env={**os.environ, **(env or {})}, **kw)
    assert p.returncode == 0, f'{cmd} exited {p.returncode}\nstdout:\n{p.stdout[-4000:]}\nstderr:\n{p.stderr[-4000:]}'
    return p

@pytest.fixture
def outputs(tmp_path):
    "A private outputs/ folder, passed to commands through $VTLAB_OUTPUTS."
    return tmp_path/'outputs'
