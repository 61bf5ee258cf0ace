"End-to-end tests of the real-time gaze loop: the stream (UDP and WebSocket get the same samples) and the commands."
import json, socket, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import run_cmd, BIN, ROOT

pytest.importorskip('ai_edge_litert')

@pytest.fixture(scope='module')
def video():
    "The 120-frame astronaut video (generated once into data/gaze/), with the face models fetched."
    from vtlab.vision.models import fetch_models, FACE_MODELS
    from vtlab.gaze.runtime import astronaut_video
    fetch_models(FACE_MODELS, verbose=False)
    return astronaut_video(n_frames=120)[0]

def _free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_fetch_models_is_idempotent():
    p = run_cmd(['vtlab_fetch_models', 'face_detection_short_range', 'face_landmark', 'iris_landmark'])
    assert 'no download; extracted 0' in p.stdout

def test_stream_udp_and_websocket_get_the_same_samples(video, outputs):
    from vtlab.gaze.stream import read_websocket
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(('127.0.0.1', 0)); udp.settimeout(60)
    ws_port, n = _free_port(), 30
    proc = subprocess.Popen([str(BIN/'vtlab_track'), '--source', str(video), '--max-frames', str(n), '--wait-clients', '1',
                             '--stream', f'udp:{udp.getsockname()[1]},ws:{ws_port}', '--out', str(outputs/'samples.jsonl')],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={'VTLAB_OUTPUTS': str(outputs), **__import__('os').environ})
    try:
        # Connect only once the server says it listens: retrying a connect to a closed loopback port in the
        # ephemeral range can connect the socket to itself (TCP simultaneous open).
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if f'streaming on ws://127.0.0.1:{ws_port}' in line: break
        else: raise AssertionError(f'vtlab_track never started its WebSocket server: {"".join(seen)[-3000:]}')
        got_ws = read_websocket(f'ws://127.0.0.1:{ws_port}', n=n, timeout=60)
        got_udp = [json.loads(udp.recv(65536)) for _ in range(n)]
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None: proc.kill()
        udp.close()
    assert proc.returncode == 0, err[-3000:]
    assert got_udp == got_ws
    assert [m['frame_index'] for m in got_ws] == list(range(n))
    assert all(m['type'] == 'gaze' and m['v'] == 1 and m['face'] for m in got_ws)
    recorded = [json.loads(l) for l in (outputs/'samples.jsonl').read_text().splitlines()]
    assert [r['frame_index'] for r in recorded] == list(range(n))

def test_track_cli_every_frame_yields_a_sample(video, outputs):
    truth = json.loads(video.with_suffix('.truth.json').read_text())['frames']
    p = run_cmd(['vtlab_track', '--source', str(video), '--stream', 'stdout', '--smoother', 'kalman', '--screen', '1920x1080'],
                env={'VTLAB_OUTPUTS': str(outputs)})
    samples = [json.loads(l) for l in p.stdout.splitlines()]
    assert len(samples) == 120 and [s['frame_index'] for s in samples] == list(range(120))
    assert [s['face'] for s in samples] == [m['in_view'] for m in truth]     # the ten away frames give face=False
    assert all(s['x_px'] is None for s in samples if not s['face'])
    assert '120 frames, 110 with a face' in p.stderr

def test_bench_writes_json_and_histogram(outputs):
    "The runtime benchmark: every configuration on every frame, identical gaze for the exact and concurrent iris paths, a PNG."
    run_cmd(['vtlab_bench_gaze_runtime', '--frames', '40', '--warmup', '3', '--no-peer', '--out', str(outputs/'b')])
    res = json.loads((outputs/'b'/'gaze_runtime.json').read_text())
    assert set(res['configs']) == {'tracking', 'exact_iris', 'no_tracking', 'tracking_no_iris', 'mirror_average'}
    for c in res['configs'].values():
        assert c['samples'] == 40 and len(c['latency_ms']) == 40 and c['end_to_end']['p50_ms'] > 0 and 'landmarks' in c['stages']
    assert res['configs']['no_tracking']['detections'] == 40
    agree = res['tracking_vs_exact_iris']
    assert agree['gaze_max_abs_rad'] == 0 and agree['head_max_abs_deg'] == 0 and agree['pupil_diff_px']['max'] < 1.0, agree
    assert res['peer']['status'] == 'left out' and res['load_during']['samples'] >= 2
    assert len(res['paced']['latency_ms']) == 40 and res['paced']['seconds'] >= 0.98 * 40 / 60   # then 40 frames at 60 Hz
    assert (outputs/'b'/'gaze_runtime.png').stat().st_size > 10_000
