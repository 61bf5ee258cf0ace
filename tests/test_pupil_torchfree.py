"""Every `vtlab.pupil` module imports, and the recorder records, with torch and TensorFlow unavailable.

A Raspberry Pi recording a Neon has neither installed, so an import of either anywhere under `vtlab.pupil` would
break the recorder there. The check runs in a fresh interpreter where `sys.modules['torch'] = None` (and the same
for TensorFlow) makes any such import raise, imports every module of the package, and records one second from the
stand-in, checking that the video and its timing CSV agree.
"""
import json, subprocess, sys

import pytest

pytest.importorskip('pupil_labs.realtime_api')
pytest.importorskip('av')

SCRIPT = r'''
import sys
for name in ('torch', 'torchvision', 'tensorflow'): sys.modules[name] = None  # importing them now raises ImportError
import asyncio, importlib, json, pkgutil, tempfile
from pathlib import Path
import vtlab.pupil
mods = sorted(m.name for m in pkgutil.walk_packages(vtlab.pupil.__path__, 'vtlab.pupil.'))
for m in mods: importlib.import_module(m)
from vtlab.pupil.neonsim import NeonSim
from vtlab.pupil.record import RecordConfig, record_async
from vtlab.pupil.stream import StreamConfig
from vtlab.pupil.encode import probe_video
from vtlab.pupil.files import read_csv
out = Path(tempfile.mkdtemp()) / 'rec'
with NeonSim(width=320, height=240, http_port=0, rtsp_port=0, time_echo_port=0) as sim:
    meta = asyncio.run(record_async(StreamConfig(port=sim.http_port, imu=True, eye_events=True),
                                    RecordConfig(start_timeout_s=60), out, 1.0))
print(json.dumps(dict(modules=mods, status=meta['status'], frames=probe_video(out / 'video.mp4')['frames'],
                      rows=len(read_csv(out / 'frame_timing.csv')['frame_index']), gaze_rows=meta['counters']['gaze_rows'])))
'''


def test_pupil_imports_and_records_without_torch():
    p = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert {'vtlab.pupil.neonsim', 'vtlab.pupil.record', 'vtlab.pupil.bench', 'vtlab.pupil.panel', 'vtlab.pupil.files',
            'vtlab.pupil.sim.rtsp', 'vtlab.pupil.sim.api', 'vtlab.pupil.sim.scene', 'vtlab.pupil.sim.wearer',
            'vtlab.pupil.sim.faults'} <= set(r['modules']), r['modules']
    assert r['status'] == 'complete'
    # one second at 30 fps (fewer frames on a busy machine): the video holds one frame per timing row, gaze came at ~200 Hz
    assert r['frames'] == r['rows'] and 5 <= r['frames'] <= 45, r
    assert r['gaze_rows'] > 50, r


def test_recorder_does_not_load_the_stand_in():
    "`vtlab_record` loads the stand-in (and its aiohttp server) only for `--sim`."
    code = ("import sys, vtlab.pupil.record; "
            "print(sorted(m for m in ('vtlab.pupil.neonsim', 'vtlab.pupil.sim.rtsp', 'aiohttp') if m in sys.modules))")
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == '[]', (p.stdout, p.stderr[-2000:])
