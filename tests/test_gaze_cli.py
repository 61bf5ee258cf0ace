"""The gaze commands as a user runs them: bad input in a real process (one line, exit code 2, no traceback unless
--debug), `vtlab_track` without torch (and with a personal calibration), and from outside the checkout with the
face models in the per-user cache."""
import json, os, subprocess, sys
from pathlib import Path
import pytest
from conftest import run_cmd, BIN, ROOT

pytest.importorskip('ai_edge_litert')

def run(cmd:list, cwd=ROOT, env:dict|None=None, timeout:float=600)->subprocess.CompletedProcess:
    exe = BIN/cmd[0] if (BIN/cmd[0]).exists() else cmd[0]
    return subprocess.run([str(exe), *map(str, cmd[1:])], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})

@pytest.fixture(scope='module')
def model(tmp_path_factory)->Path:
    "A small gaze ONNX with vtlab's interface and contract (random weights: for the plumbing)."
    torch = pytest.importorskip('torch')
    from vtlab.gaze.models import GazeModel, GazeModelConfig, EYE_BAND
    from vtlab.gaze.geometry import vtlab_contract
    from vtlab.gaze.export import export_gaze_onnx
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('model')/'gaze.onnx'
    cfg = GazeModelConfig(backbone='vtlab_cnn', input_size=96, dropout=0, normalization=vtlab_contract(96, crop=EYE_BAND))
    export_gaze_onnx(GazeModel(cfg).eval(), path)
    return path

@pytest.fixture(scope='module')
def video()->Path:
    from vtlab.vision.models import fetch_models, FACE_MODELS
    from vtlab.gaze.runtime import astronaut_video
    fetch_models(FACE_MODELS, verbose=False)
    return astronaut_video(n_frames=120)[0]

@pytest.fixture(scope='module')
def bad(tmp_path_factory)->Path:
    d = tmp_path_factory.mktemp('bad')
    (d/'broken.onnx').write_bytes(b'\x08\x01 not a model')
    (d/'broken.pth').write_bytes(b'PK\x03\x04 truncated zip')
    (d/'calib').mkdir(); (d/'calib'/'camera.json').write_text('{"fx": 500,')
    (d/'notes.txt').write_text('x')
    from vtlab.gaze.calibration import GeometricMapper, save_calibration   # a personal calibration of another gaze model
    from vtlab.gaze.screen import ScreenConfig
    m = GeometricMapper(ScreenConfig()); m.gaze_model = dict(file='other.onnx', sha256='0' * 64, mirror_average=False)
    save_calibration(m, d/'other_model')
    return d

CASES = [   # command, arguments, words the one error line must contain
    ('vtlab_track', ['--source', '{bad}/missing.mp4', '--model', '{model}'], '--source {bad}/missing.mp4: video file not found'),
    ('vtlab_track', ['--model', '{bad}/broken.onnx'], '--model {bad}/broken.onnx:'),
    ('vtlab_track', ['--model', '{bad}'], 'is a folder, expected a file'),
    ('vtlab_track', ['--calib', '{bad}/calib', '--model', '{model}'], 'invalid JSON'),
    ('vtlab_track', ['--calib', '{bad}/other_model', '--model', '{model}'], '--calib {bad}/other_model: the calibration was fitted on other.onnx'),
    ('vtlab_track', ['--screen', 'abc'], "argument --screen: screen spec 'abc'"),
    ('vtlab_track', ['--stream', 'carrier-pigeon'], "argument --stream: stream 'carrier-pigeon' unknown"),
    ('vtlab_import_gaze', ['{bad}/broken.pth'], '{bad}/broken.pth: not a weights-only torch file'),
    ('vtlab_import_gaze', ['{bad}/missing.pth'], 'missing.pth: no such file'),
    ('vtlab_import_gaze', ['{bad}'], 'is a folder, expected a file'),
    ('vtlab_import_gaze', ['{bad}/notes.txt'], 'expected a .pth'),
    ('vtlab_bench_gaze_runtime', ['--model', '{bad}/broken.onnx'], '--model {bad}/broken.onnx:'),
    ('vtlab_bench_gaze_runtime', ['--configs', 'warp-speed'], "--configs warp-speed: unknown ['warp-speed']"),
    ('vtlab_bench_gaze_runtime', ['--out', '{bad}/notes.txt'], 'argument --out'),
]

@pytest.mark.parametrize('cmd,argv,contains', CASES)
def test_bad_input_one_line_exit_2(cmd, argv, contains, bad, model, video):
    fill = lambda s: s.format(bad=bad, model=model)
    p = run([cmd, *map(fill, argv)])
    lines = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith(('INFO:', 'W0000', 'I0000'))]
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    assert 'Traceback' not in p.stderr and len(lines) == 1, p.stderr[-2000:]
    assert lines[0].startswith(f'{cmd}: error: ') and fill(contains) in lines[0], lines[0]

def test_debug_shows_the_traceback(bad):
    p = run(['vtlab_import_gaze', bad/'broken.pth', '--debug'])
    assert p.returncode != 0 and 'Traceback' in p.stderr and 'not a weights-only torch file' in p.stderr

@pytest.mark.parametrize('cmd', ['vtlab_track', 'vtlab_import_gaze', 'vtlab_bench_gaze_runtime'])
def test_help_imports_no_heavy_module(cmd):
    "`--help` answers without importing torch, cv2 or onnxruntime (measured with -X importtime)."
    mod = dict(vtlab_track='vtlab.gaze.track', vtlab_import_gaze='vtlab.gaze.import_cli', vtlab_bench_gaze_runtime='vtlab.gaze.runtime_bench')[cmd]
    p = subprocess.run([sys.executable, '-X', 'importtime', '-c', f'import {mod}'], capture_output=True, text=True, cwd=ROOT)
    loaded = {l.split('|')[-1].strip() for l in p.stderr.splitlines() if l.startswith('import time:')}
    assert not loaded & {'torch', 'cv2', 'onnxruntime', 'ai_edge_litert', 'asyncio'}, loaded & {'torch', 'cv2', 'onnxruntime', 'ai_edge_litert', 'asyncio'}
    assert run([cmd, '--help']).returncode == 0

def test_track_with_a_personal_calibration_never_imports_torch(tmp_path, model, video):
    from vtlab.gaze.calibration import SimulatedUser, write_simulated_folder, calibrate_folder
    from vtlab.gaze.screen import ScreenConfig
    folder = write_simulated_folder(tmp_path/'session', SimulatedUser(ScreenConfig()), n_points=9)
    calib = Path(calibrate_folder(folder, kind='ridge')['calibration']).parent
    code = ("import sys; sys.modules['torch'] = None\n"          # any import of torch now raises ImportError
            "from vtlab.gaze.track import track_main\n"
            f"rc = track_main(['--source', {str(video)!r}, '--frames', '20', '--model', {str(model)!r}, '--calib', {str(calib)!r},"
            f" '--out', {str(tmp_path/'run')!r}])\n"
            "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None], 'torch was imported'\n"
            "sys.exit(rc)")
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    samples = [json.loads(l) for l in (tmp_path/'run'/'samples.jsonl').read_text().splitlines()]
    assert len(samples) == 20 and all(s['face'] for s in samples) and sum(s['x_px'] is not None for s in samples) >= 15

def test_track_outside_the_checkout(tmp_path, model, video):
    "A user's folder, no checkout above it: `vtlab_fetch_models` fills the per-user cache and `vtlab_track` finds the models there."
    wheels = sorted((ROOT/'data'/'models'/'.wheels').glob('mediapipe-*.whl'))
    if not wheels: pytest.skip('no local mediapipe wheel in data/models/.wheels (run vtlab_fetch_models once)')
    work, cache = tmp_path/'work', tmp_path/'cache'
    work.mkdir()
    env = {'XDG_CACHE_HOME': str(cache), 'VTLAB_DATA': '', 'VTLAB_OUTPUTS': ''}
    p = run(['vtlab_fetch_models', 'face_detection_short_range', 'face_landmark', 'iris_landmark', '--wheel', wheels[0]], cwd=work, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    assert sorted(f.name for f in (cache/'vtlab'/'models').glob('*.tflite')) == ['face_detection_short_range.tflite', 'face_landmark.tflite', 'iris_landmark.tflite']
    p = run(['vtlab_track', '--source', video, '--frames', '10', '--model', model, '--stream', 'stdout'], cwd=work, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert sum(json.loads(l)['face'] for l in p.stdout.splitlines()) == 10
    assert not (work/'data').exists() and (cache/'vtlab'/'models'/'face_reference.npz').is_file()

def test_track_ctrl_c_keeps_what_was_recorded(tmp_path, model):
    "Ctrl-C mid-run: exit 130, one line saying so, every recorded sample a whole JSON line, the latency report written."
    import signal, time
    from vtlab.gaze.runtime import astronaut_video
    long_video = astronaut_video(n_frames=300)[0]
    p = subprocess.Popen([str(BIN/'vtlab_track'), '--source', str(long_video), '--model', str(model), '--out', str(tmp_path)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples, t_end = tmp_path/'samples.jsonl', time.monotonic() + 300
    while time.monotonic() < t_end and p.poll() is None and (not samples.is_file() or samples.stat().st_size < 20_000): time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-2000:]
    assert 'vtlab_track: interrupted' in err and 'Traceback' not in err
    lines = samples.read_text().splitlines()
    assert 5 <= len(lines) < 300 and [json.loads(l)['frame_index'] for l in lines] == list(range(len(lines)))
    assert json.loads((tmp_path/'latency.json').read_text())['frames'] >= len(lines)
