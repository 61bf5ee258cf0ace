"""The calibration widget in a real JupyterLab, driven by a real Chromium: a 3×3 calibration fed by a video file.

JupyterLab is started by the test on 127.0.0.1 with a random token; Chromium is Debian's (/usr/bin/chromium),
driven through Playwright's Python API with `executable_path` (no browser download)."""
import json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from conftest import ROOT
from vtlab.sysdeps import find_chromium

CHROMIUM = find_chromium() or '/usr/bin/chromium'
pytestmark = pytest.mark.needs('chromium')   # skipped with the command that installs it (tests/conftest.py)

NOTEBOOK_CELLS = [
    "from pathlib import Path\n"
    "from vtlab.gaze.collect import CalibrationProtocol, CalibrationRun, CalibrationWidget\n"
    "from vtlab.gaze.runtime import FrameSource, GazePipeline, ScreenConfig, astronaut_video\n"
    "video, _ = astronaut_video(n_frames=120)\n"
    "pipeline = GazePipeline(screen=ScreenConfig(1280, 720))\n"
    "run = CalibrationRun(Path('calib_out'), FrameSource(video), pipeline.process, ScreenConfig(1280, 720),\n"
    "                     CalibrationProtocol('3x3', samples_per_point=1, fixation_delay_s=0.2))\n"
    "widget = CalibrationWidget(run, canvas_px=(480, 270))\n"
    "widget",
]

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _notebook(cells):
    return dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
                cells=[dict(cell_type='code', id=f'c{i}', metadata={}, execution_count=None, outputs=[], source=src) for i, src in enumerate(cells)])

@pytest.fixture
def jupyterlab(tmp_path):
    (tmp_path/'calib.ipynb').write_text(json.dumps(_notebook(NOTEBOOK_CELLS)))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, 'VTLAB_DATA': str(ROOT/'data'), 'VTLAB_OUTPUTS': str(ROOT/'outputs'), 'JUPYTER_CONFIG_DIR': str(tmp_path/'.jupyter')}
    proc = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}',
                             f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={tmp_path}', '--ServerApp.disable_check_xsrf=False'],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    base = f'http://127.0.0.1:{port}'
    for _ in range(120):
        try: urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=1); break
        except OSError: time.sleep(0.5)
    else:
        proc.kill(); pytest.fail('JupyterLab did not start: ' + proc.stderr.read().decode()[-2000:])
    yield base, token, tmp_path
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill()

def test_widget_calibration_in_real_browser(jupyterlab):
    from playwright.sync_api import sync_playwright
    base, token, folder = jupyterlab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--headless', '--no-sandbox', '--disable-gpu',
                                    '--disable-background-networking', '--disable-component-update', '--no-first-run'])
        page = browser.new_page(viewport={'width': 1400, 'height': 900})
        shots = ROOT/'outputs'/'tests'; shots.mkdir(parents=True, exist_ok=True)
        try: _click_through(page, base, token)
        except Exception:
            page.screenshot(path=str(shots/'calibration_widget_failure.png')); raise
        page.screenshot(path=str(shots/'calibration_widget.png'))
        browser.close()
    written = sorted((folder/'calib_out').glob('img_*.json'))
    assert len(written) == 9, [p.name for p in written]
    assert (folder/'calib_out'/'session.json').is_file()
    from vtlab.gaze.calibration import load_calibration_data
    data = load_calibration_data(folder/'calib_out')
    assert len(data.points) == 9 and not data.skipped
    from vtlab.gaze.runtime import GazeModel, default_gaze_model   # the widget's pipeline said which model made the gaze
    assert data.session.gaze_model == GazeModel(default_gaze_model()).identity, data.session.gaze_model
    assert data.session.camera_matrix is not None and data.session.frame_size == [640, 480]

def _click_through(page, base, token):
    "Open the notebook, run its cell, click Capture through the 3×3 grid."
    page.goto(f'{base}/lab/tree/calib.ipynb?token={token}')
    page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=120_000)
    page.get_by_text('Python 3 (ipykernel) | Idle').wait_for(timeout=120_000)   # kernel started and connected
    page.get_by_role('menuitem', name='Run', exact=True).click()
    page.get_by_role('menuitem', name='Run All Cells', exact=True).click()
    capture = page.get_by_role('button', name='Capture')
    capture.wait_for(timeout=180_000)
    for _ in range(9):
        time.sleep(0.4)                                   # the fixation delay is 0.2 s
        capture.click()
        page.wait_for_timeout(300)
    page.get_by_text('Finished').wait_for(timeout=120_000)
