"End-to-end test of the nail AR web client: vtlab_serve_nails + Debian's Chromium with a fake camera playing a synthetic hand clip."
import http.client, json, os, re, select, shutil, subprocess, time
from pathlib import Path
import pytest
from conftest import ROOT, BIN

N_FRAMES = 300   # frames the page processes (the tensor count must stay flat over them)
N_SCORED = 40    # of which this many are scored against the ground truth


pytestmark = pytest.mark.needs('convert-venv', 'chromium')   # skipped with the enabling command (tests/conftest.py)


def _missing()->str|None:
    from vtlab.nails.pipeline import default_model_paths
    try: import playwright  # noqa: F401
    except ImportError: return 'playwright (Python) not installed'
    if not all(Path(p).exists() for p in default_model_paths()): return 'no trained nail models'
    return None


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "`vtlab_serve_nails --port 0` as a subprocess; yields (base URL, results folder, process)."
    why = _missing()
    if why: pytest.skip(why)
    results = tmp_path_factory.mktemp('web_results')
    proc = subprocess.Popen([str(BIN/'vtlab_serve_nails'), '--port', '0', '--results', str(results)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url, lines, t0 = None, [], time.time()
    try:
        while time.time() - t0 < 600 and url is None:   # a first run converts the models to TF.js (about 1–2 min)
            if proc.poll() is not None: break
            if select.select([proc.stdout], [], [], 1.0)[0]:
                line = proc.stdout.readline(); lines.append(line)
                m = re.search(r'serving (http://\S+/)', line)
                if m: url = m.group(1)
        assert url, 'vtlab_serve_nails did not start:\n' + ''.join(lines[-30:])
        yield url, results, proc
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill()


def test_server_binds_loopback_and_refuses_paths_outside_its_roots(server):
    import psutil
    url, results, proc = server
    host, port = re.match(r'http://([\d.]+):(\d+)/', url).groups()
    assert host == '127.0.0.1'
    listening = [c.laddr for c in psutil.Process(proc.pid).net_connections('inet') if c.status == psutil.CONN_LISTEN]
    assert listening and all(a.ip == '127.0.0.1' for a in listening), listening

    def get(path, method='GET', body=None):
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request(method, path, body=body)   # http.client sends the path as given: no client-side normalising
        r = c.getresponse(); data = r.read(); c.close()
        return r.status, data

    status, body = get('/')
    assert status == 200 and b'vtlab nails' in body
    assert get('/models/manifest.json')[0] == 200 and get('/lib/tf.min.js')[0] == 200
    for bad in ('/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/models/../../../../settings.ini',
                '/models/%2e%2e/%2e%2e/%2e%2e/%2e%2e/settings.ini', '/..%2f..%2f..%2fsettings.ini', '//etc/passwd',
                '/lib/../../settings.ini', '/lib/playwright-core/package.json', '/api/results/x'):
        assert get(bad)[0] == 404, bad
    assert get('/api/results/..%2fescape', 'POST', b'{}')[0] == 404
    assert not list(results.parent.glob('escape*'))


def test_page_finds_nails_with_flat_tensor_count(server, tmp_path):
    from vtlab.core import outputs_dir
    from vtlab.nails.webbench import write_coded_video, run_page, score_browser_run, python_reference
    url, results, _ = server
    video = write_coded_video(tmp_path/'video', n_frames=90)
    shot = outputs_dir('tests', 'nails_web.png')
    q = f'?runtime=tfjs&backend=wasm&bench={N_FRAMES}&warmup=0&masks={N_SCORED}&out=e2e&stats=1'
    res = run_page(url + q, video['y4m'], results/'e2e.json', screenshot=shot, timeout_s=240,
                   after=lambda page: page.inner_text('#stat-fps'))
    s = res['summary']
    assert s['frames'] == N_FRAMES and s['backend'] == 'wasm'
    # the stats panel shows a frame rate
    assert float(res['after']) > 0, res['after']
    # flat tensor count: every frame ends with exactly the tensors held after loading (the models' weights)
    tens = res['tensors_per_frame']
    assert len(tens) == N_FRAMES and min(tens) == max(tens), (min(tens), max(tens))
    # every scored frame came from the clip (its corner code decoded)
    acc = score_browser_run(res, video)
    assert acc['frames'] >= N_SCORED - 2, acc['frames']
    ref = python_reference(video, acc['frame_codes'])
    print(json.dumps(dict(browser={k: acc[k] for k in ('mask_iou', 'precision', 'recall', 'tp', 'fp', 'fn', 'frames')},
                          python={k: ref[k] for k in ('mask_iou', 'precision', 'recall')},
                          e2e_ms=s['end_to_end_ms'], fps=s['fps'])))
    # masks within a tolerance of the ground truth, no worse than the Python pipeline on the same frames beyond
    # what frame dropping (different smoothing history) and the JS resize/crop rounding explain. Measured in three
    # runs with the earlier weights: browser IoU 0.859-0.863, recall 0.945-0.96; with the shipped (retrained) weights,
    # whose pass 1 is stricter about what is a hand, the Python pipeline itself recalls 0.85-0.99 of this clip's nails
    # depending on which frames get sampled (0.854 in one ORT Web run that recalled 0.839). The absolute floors hold
    # the model; the relative ones hold the browser to the Python pipeline on the same frames.
    assert acc['mask_iou'] >= 0.8 and acc['mask_iou'] >= ref['mask_iou'] - 0.05, (acc, ref)
    assert acc['recall'] >= 0.78 and acc['recall'] >= ref['recall'] - 0.08, (acc, ref)
    assert acc['precision'] >= ref['precision'] - 0.1, (acc, ref)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_onnxruntime_web_runtime_finds_nails(server, tmp_path):
    "The second runtime (?runtime=ort, onnxruntime-web WASM) on the same clip: same pipeline, same scoring."
    from vtlab.nails.webbench import write_coded_video, run_page, score_browser_run, python_reference
    url, results, _ = server
    video = write_coded_video(tmp_path/'video', n_frames=90)
    res = run_page(url + '?runtime=ort&bench=30&warmup=2&masks=30&out=e2e_ort', video['y4m'], results/'e2e_ort.json', timeout_s=180)
    assert res['summary']['runtime'] == 'ort' and res['summary']['frames'] == 30
    acc = score_browser_run(res, video)
    ref = python_reference(video, acc['frame_codes'])
    assert acc['frames'] >= 28
    assert acc['mask_iou'] >= 0.8 and acc['mask_iou'] >= ref['mask_iou'] - 0.05, (acc, ref)
    assert acc['recall'] >= 0.78 and acc['recall'] >= ref['recall'] - 0.08, (acc, ref)


POLISH = '#1e50ff'   # a blue no synthetic nail, skin or background has: polish pixels are easy to tell apart


def _mediapipe_served(url:str)->bool:
    import urllib.request
    try:
        for path in ('models/mediapipe/mediapipe.json', 'lib/vision_bundle.js'):
            with urllib.request.urlopen(url + path, timeout=10) as r: r.read(64)
        return True
    except OSError: return False


@pytest.mark.parametrize('render', ['webgl', '2d'])
def test_live_polish_is_on_screen_and_on_the_nails(server, tmp_path, render):
    """Sampled from the screen while the page runs: the polish shows on >= 90 % of the frames where the page found nails,
    and its pixels cover the clip's true nail masks: colour-IoU >= 0.8, or, where the pipeline's own masks cannot reach
    that, no more than 0.1 below their pixel IoU on the same frames and never below 0.65 (the polish is as good as the
    masks it is drawn from; Python computes them from every camera frame, the page from the frames it keeps up with,
    fewer under load, and its smoothing then follows the moving hand less closely); with "before" on, no polish shows."""
    from vtlab.core import outputs_dir
    from vtlab.nails.webbench import write_coded_video, chromium_page, sample_live, score_live, python_reference
    url, results, _ = server
    video = write_coded_video(tmp_path/'video', n_frames=90)
    q = f'?runtime=ort&render={render}&polish={POLISH[1:]}&finish=cream'
    with chromium_page(url + q, video['y4m'], viewport=(1100, 560)) as (page, console):
        shots = sample_live(page, n=30 if render == 'webgl' else 20)
        painted = page.evaluate('window.vtlabPainted')
        status = page.inner_text('#status')
        if render == 'webgl':   # the try-on as a user sees it (nbs/images/nails_tryon.png is a copy of this)
            page.click('#finish'); page.select_option('#finish', 'gloss'); page.click('#swatches button[title="classic red"]')
            page.wait_for_timeout(1500); page.screenshot(path=str(outputs_dir('tests', 'nails_tryon.png')))
        page.click('#before')
        n0 = len(page.evaluate('window.vtlabPainted'))
        before_shots = sample_live(page, n=5, start_after=n0 + 3)
        before_painted = page.evaluate('window.vtlabPainted')
    assert f', {render})' in status, status   # the renderer asked for is the one that ran
    live = score_live(shots, painted, video, POLISH)
    masks = python_reference(video, [r['code'] % video['n_frames'] for r in live['rows'] if r['nails']])['pixel_iou']
    print(render, {k: v for k, v in live.items() if k != 'rows'}, 'pipeline masks pixel IoU on the same frames', round(masks, 3))
    assert live['unreadable'] == 0, live['rows']
    assert live['shots_with_nails'] >= 0.5 * live['shots'], live['rows']   # the clip shows a hand with nails in most frames
    assert live['present_frac'] >= 0.9, live['rows']
    # measured under load average 2-8 (other jobs on the 2 cores), colour-IoU vs the pipeline's masks: webgl 0.748/0.813,
    # 0.708/0.757, 0.791/0.814, 0.736/0.777; 2d 0.708/0.744, 0.758/0.774, 0.719/0.790, 0.794/0.804: the page trails by 0.01-0.07
    assert live['colour_iou'] >= 0.65 and live['colour_iou'] >= min(0.8, masks - 0.1), (live['colour_iou'], masks)
    before = score_live(before_shots, before_painted, video, POLISH)
    assert all(r['polish_on'] is False for r in before['rows']), before['rows']
    assert all(r['overlay_px'] < 20 for r in before['rows']), before['rows']


@pytest.mark.parametrize('script, words', [
    ("navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));", 'Camera access was denied'),
    ("navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('none', 'NotFoundError'));", 'No camera was found'),
    ('delete window.WebAssembly;', 'cannot run WebAssembly'),
    ("HTMLCanvasElement.prototype.getContext = ((get) => function (kind, o) { return kind === 'webgl2' ? null : get.call(this, kind, o); })"
     "(HTMLCanvasElement.prototype.getContext);", 'WebGL2 is not available here: drawing with the 2D canvas'),
])
def test_clear_messages(server, tmp_path, script, words):
    "A denied or missing camera, no WebAssembly, no WebGL: the page says so in words (the browser feature is taken away before the page runs)."
    from vtlab.nails.webbench import write_coded_video, chromium_page
    url, _, _ = server
    video = write_coded_video(tmp_path/'video', n_frames=4)
    with chromium_page(url + '?runtime=ort', video['y4m'], init_script=script) as (page, console):
        page.wait_for_function("document.getElementById('message').textContent.length > 0", timeout=60_000)
        assert words in page.inner_text('#message'), (page.inner_text('#message'), console[-5:])


def test_mediapipe_pass1_and_gate(server, tmp_path):
    """?pass1=mediapipe finds the nails of a hand MediaPipe's palm detector fires on; ?gate=mediapipe keeps the trained
    pass 1's nails on that hand, and no nails show on a real photo without hands (Grace Hopper, matplotlib's sample
    image, as a still clip) with or without the gate. (That the gate drops detections outside every found hand is
    checked on known boxes in nbs/37a_nails.webapp.ipynb: the retrained pass 1 finds nothing on this photo to drop.)"""
    from vtlab.nails.webbench import write_coded_video, write_still_video, run_page, score_browser_run
    url, results, _ = server
    if not _mediapipe_served(url): pytest.skip('MediaPipe not served: run vtlab_fetch_models and rebuild .venv-convert (tools/make-convert-venv)')
    hand = write_coded_video(tmp_path/'hand', n_frames=60, seed=1000)   # the clip nails.hands checks MediaPipe's Python pass 1 on
    r = run_page(url + '?runtime=ort&pass1=mediapipe&hand_min=0.3&bench=40&warmup=3&masks=40&out=mp', hand['y4m'], results/'mp.json', timeout_s=300)
    acc = score_browser_run(r, hand)
    print('mediapipe pass 1:', {k: acc[k] for k in ('tp', 'fp', 'fn', 'mask_iou', 'precision', 'recall', 'frames')})
    assert r['summary']['pass1'] == 'mediapipe'
    assert acc['tp'] >= 20 and acc['mask_iou'] >= 0.7 and acc['precision'] >= 0.8, acc
    g = run_page(url + '?runtime=ort&gate=mediapipe&hand_min=0.3&bench=40&warmup=3&masks=40&out=mp_gate', hand['y4m'], results/'mp_gate.json', timeout_s=300)
    gacc = score_browser_run(g, hand)
    print('trained pass 1 + MediaPipe gate on the hand:', {k: gacc[k] for k in ('tp', 'fp', 'fn', 'mask_iou', 'precision', 'recall', 'frames')})
    # kept where MediaPipe finds the hand: runs measured recall 0.525, precision 0.99, IoU 0.79 and recall 0.825, precision
    # 0.86, IoU 0.82 (the page scores whichever frames the fake camera is showing when it is ready, so the frames differ from
    # run to run; where the palm detector misses the synthetic hand the gate drops its nails, so recall is lower than without
    # it). The gate removes detections, it cannot add precision the trained pass 1 lacks in the frames it keeps: the bound is
    # the one MediaPipe's own pass 1 has above (0.8), not the best run's 0.99
    assert g['summary']['gate'] and gacc['tp'] >= 20 and gacc['recall'] >= 0.35 and gacc['precision'] >= 0.8 and gacc['mask_iou'] >= 0.7, gacc
    photo = write_still_video(tmp_path/'photo', 'grace_hopper', n_frames=30)
    runs = {}
    for name, extra in (('trained', ''), ('gated', '&gate=mediapipe')):
        runs[name] = run_page(url + f'?runtime=ort&bench=20&warmup=3{extra}&out=photo_{name}', photo['y4m'], results/f'photo_{name}.json', timeout_s=300)['summary']
    print('hand-free photo, nails per frame:', {k: v['frames_with_nails'] for k, v in runs.items()})
    assert runs['gated']['gate'] and runs['gated']['frames_with_nails'] == 0, runs['gated']
