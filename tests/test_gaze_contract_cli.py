"""The normalization contract and the shipped model as a user meets them, in real processes: every gaze command
that loads a model refuses an ONNX without a contract in one line that names the file and says how to stamp it
(exit code 2, no traceback), the commands of the training side reject bad input the same way, and with no model
named the commands use the shipped one, never the wiring model."""
import json, os, subprocess
from pathlib import Path
import pytest
from conftest import BIN, ROOT

pytest.importorskip('ai_edge_litert')

def run(cmd:list, timeout:float=600)->subprocess.CompletedProcess:
    exe = BIN/cmd[0] if (BIN/cmd[0]).exists() else cmd[0]
    return subprocess.run([str(exe), *map(str, cmd[1:])], capture_output=True, text=True, cwd=ROOT, timeout=timeout)

def one_error_line(p:subprocess.CompletedProcess, cmd:str)->str:
    lines = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith(('INFO:', 'W0000', 'I0000'))
             and not (len(l) > 9 and l[2] == ':' and l[5] == ':' and ' vtlab' in l[:30])]
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    assert 'Traceback' not in p.stderr and len(lines) == 1, p.stderr[-2000:]
    assert lines[0].startswith(f'{cmd}: error: '), lines[0]
    return lines[0]

@pytest.fixture(scope='module')
def bad(tmp_path_factory)->Path:
    "The shipped ONNX with its contract stripped (a model exported before models carried one), and broken files."
    import onnx
    from vtlab.gaze.runtime import default_gaze_model
    d = tmp_path_factory.mktemp('bad')
    m = onnx.load(str(default_gaze_model()))
    keep = {q.key: q.value for q in m.metadata_props if q.key != 'vtlab.normalization'}
    del m.metadata_props[:]; onnx.helper.set_model_props(m, keep); onnx.save(m, str(d/'old.onnx'))
    (d/'broken.onnx').write_bytes(b'\x08\x01 not a model')
    (d/'broken.safetensors').write_bytes(b'not safetensors'); (d/'notes.txt').write_text('x'); (d/'bad.json').write_text('{')
    (d/'data').mkdir(); (d/'data'/'train_test_split.json').write_text('{"train": ["s.h5"], "val": ["v.h5"]}')
    return d

NO_CONTRACT = [   # command, arguments: each loads {bad}/old.onnx
    ('vtlab_track', ['--model', '{bad}/old.onnx', '--frames', '1']),
    ('vtlab_bench_gaze_real', ['--model', '{bad}/old.onnx']),
    ('vtlab_bench_calibration', ['--model', '{bad}/old.onnx', '--no-personal', '--users', '1']),
]

@pytest.mark.parametrize('cmd,argv', NO_CONTRACT)
def test_onnx_without_a_contract_is_refused(cmd, argv, bad):
    line = one_error_line(run([cmd, *(a.format(bad=bad) for a in argv)]), cmd)
    assert f'{bad}/old.onnx: the model carries no normalization contract' in line, line
    assert 'vtlab_export_gaze' in line and '--normalization' in line, line

CASES = [   # command, arguments, words the one error line must contain
    ('vtlab_bench_gaze_real', ['--model', '{bad}/broken.onnx'], 'broken.onnx: not a readable ONNX gaze model'),
    ('vtlab_bench_gaze_real', ['--out', '{bad}/notes.txt'], 'is a file, expected a folder'),
    ('vtlab_bench_calibration', ['--model', '{bad}/broken.onnx', '--no-personal'], 'broken.onnx'),
    ('vtlab_bench_calibration', ['--users', '0'], '--users'),
    ('vtlab_export_gaze', ['{bad}/broken.safetensors'], 'broken.safetensors: not a readable safetensors file'),
    ('vtlab_export_gaze', ['{bad}'], 'is a folder, expected a file'),
    ('vtlab_export_gaze', ['{bad}/nope.safetensors'], 'nope.safetensors: no such file'),
    ('vtlab_train_gaze', ['--data-dir', '{bad}/data', '--threads', '1'], 's.h5: file not found'),
    ('vtlab_train_gaze', ['--config', '{bad}/bad.json'], 'bad.json: invalid JSON'),
    ('vtlab_train_gaze', ['--data-dir', '{bad}/data', '--epochs', '0'], '--epochs'),
    ('vtlab_synth_gaze', ['--subjects', '0'], '--subjects'),
    ('vtlab_synth_gaze', ['--out', '{bad}/notes.txt'], 'notes.txt'),
]

@pytest.mark.parametrize('cmd,argv,contains', CASES)
def test_bad_input_one_line_exit_2(cmd, argv, contains, bad):
    line = one_error_line(run([cmd, *(a.format(bad=bad) for a in argv)]), cmd)
    assert contains.format(bad=bad) in line, line

def test_no_model_named_means_the_shipped_model(tmp_path):
    "`vtlab_bench_gaze_real` with no --model measures the shipped model and says it is not the wiring model."
    p = run(['vtlab_bench_gaze_real', '--out', tmp_path])
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads((tmp_path/'gaze_real.json').read_text())
    assert res['model'].endswith('gaze_default.onnx') and res['wiring_model'] is False
    assert (tmp_path/'gaze_real.png').stat().st_size > 10_000 and (tmp_path/'gaze_real_astronaut.png').is_file()
