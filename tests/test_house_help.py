"""`--help` of every command answers in under a second (best of 3) and every flag says what it does. Heavy
imports (torch, TensorFlow, onnxruntime) belong inside the command's body.

The second is the CPU time the command spends (user + system, of the process and its children): on the shared
2-core test machine the wall time mostly measures the neighbours (with a load of 16, `python -c 'import numpy'`
takes 1.06 s of wall time and 0.20 s of CPU), while on an idle machine what a user waits is that CPU time plus
a little I/O. The wall time is reported beside it."""
import resource, subprocess, sys, time
import pytest
from conftest import ROOT, BIN
sys.path.insert(0, str(ROOT/'tools'))
import closure

COMMANDS = sorted(closure.console_scripts())
LIMIT_S = 1.0

def help_seconds(command:str, runs:int=3)->tuple[float, float, str]:
    "Best CPU seconds and best wall seconds of `command --help` over `runs` runs, and its output."
    cpu, wall, out = float('inf'), float('inf'), ''
    for _ in range(runs):
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        p = subprocess.run([str(BIN/command), '--help'], capture_output=True, text=True, timeout=120, cwd=ROOT)
        t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime); wall = min(wall, t1 - t0)
        assert p.returncode == 0, f'{command} --help exited {p.returncode}: {p.stderr[-2000:]}'
        out = p.stdout
    return cpu, wall, out

@pytest.mark.parametrize('command', COMMANDS)
def test_help_is_fast(command):
    cpu, wall, out = help_seconds(command)
    assert out.lstrip().startswith('usage:'), out[:200]
    assert cpu < LIMIT_S, (f'{command} --help took {cpu:.2f} s of CPU ({wall:.2f} s wall; best of 3, limit {LIMIT_S} s): '
                           'move heavy imports into the body')

@pytest.mark.parametrize('command', COMMANDS)
def test_every_flag_has_help(command):
    res = closure.check(command, extra='dev')
    assert res['rc'] == 0 and not res['error'], res
    assert not res['no_help'], f'{command}: flags without help text: {res["no_help"]}'
