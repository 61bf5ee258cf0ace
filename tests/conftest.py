"""Shared pytest fixtures: run vtlab commands from the project's venv with outputs in a temporary folder.

`@pytest.mark.needs('chromium', 'convert-venv', ...)` marks a test that runs a program beside Python (the names
of `vtlab.sysdeps.TOOLS`). When one is missing the test is skipped with the command that enables it, except
where `$VTLAB_REQUIRE_TOOLS` is set (CI: `.ci/run`), where a missing program fails the test instead."""
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

_scratch = []

def pytest_sessionstart(session):
    "One temporary folder for the whole run, collection included, which `tempfile` and every child process (`$TMPDIR`)\n"
    "use; deleted at the end. Commands and notebooks under test make their own temporary files and may leave them (a\n"
    "SIGKILL test cannot clean up), and importing torch while collecting makes one too."
    factory = getattr(session.config, '_tmp_path_factory', None)
    if factory is not None: factory.getbasetemp()   # pytest's own folders (kept for failed tests) stay where they were
    sys.path.insert(0, str(ROOT/'tools'))            # as the house tests do
    from nbrun import scratch                        # the notebook runner's scratch folder, here for the whole run
    _scratch.append(scratch('pytest')); _scratch[-1].__enter__()

def pytest_sessionfinish(session, exitstatus):
    while _scratch: _scratch.pop().__exit__(None, None, None)

def pytest_configure(config):
    config.addinivalue_line('markers', 'needs(*tools): programs from vtlab.sysdeps.TOOLS the test runs; '
                                       'skipped with the enabling command when one is missing')

def pytest_runtest_setup(item):
    from vtlab.sysdeps import MissingTool, require
    for mark in item.iter_markers('needs'):
        for tool in mark.args:
            try: require(tool)
            except MissingTool as e:
                if os.environ.get('VTLAB_REQUIRE_TOOLS'): pytest.fail(f'{e} ($VTLAB_REQUIRE_TOOLS is set)', pytrace=False)
                pytest.skip(str(e))

def import_cycles(graph:dict[str, set[str]], nodes:set[str]|None=None)->list[list[str]]:
    "Groups of modules that import each other, directly or around a loop (Tarjan's strongly connected components of\n"
    "`graph`, module -> the modules it imports, restricted to `nodes`), each sorted; [] when there is no loop."
    nodes = set(graph) if nodes is None else nodes
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
        for w in graph.get(v, ()):
            if w not in nodes: continue
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for v in sorted(nodes):
        if v not in index: visit(v)
    return out
