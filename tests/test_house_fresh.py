"""What a fresh machine does: `vtlab_demo` with ffmpeg, Chromium and Node.js hidden from it skips the steps that
need them, with the command that enables each, and still exits 0; with only the registry's ffmpeg
(imageio-ffmpeg, no ffprobe) the recorder step runs."""
import json, os, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import ROOT, BIN, run_cmd
from vtlab.sysdeps import install_command

@pytest.fixture
def hidden(tmp_path)->dict:
    "An environment without ffmpeg, Chromium or Node.js, as on a fresh Debian machine (apt-get is there)."
    sbin = tmp_path/'sbin'; sbin.mkdir()
    if Path('/usr/bin/apt-get').exists(): (sbin/'apt-get').symlink_to('/usr/bin/apt-get')
    return {'PATH': f'{BIN}:{sbin}',                      # the venv's scripts and apt-get: no ffmpeg, ffprobe, node, chromium
            'VTLAB_CHROMIUM': '/nonexistent/chromium',    # nor Debian's /usr/bin/chromium
            'VTLAB_FFMPEG': '/nonexistent/ffmpeg'}        # nor the imageio-ffmpeg wheel's binary

def _summary(outputs:Path)->dict: return json.loads((outputs/'demo'/'summary.json').read_text())

def _enable(name:str)->str:
    "The command the demo must name under `hidden` (what `install_command` answers with apt-get as the only manager)."
    return install_command(name, 'apt' if Path('/usr/bin/apt-get').exists() else None)

def test_demo_skips_what_is_missing_and_exits_0(outputs, hidden):
    p = run_cmd(['vtlab_demo', '--steps', 'platform,pupil_record,nails_convert,nails_web'],
                env={**hidden, 'VTLAB_OUTPUTS': str(outputs)}, timeout=300)   # run_cmd asserts exit code 0
    steps = _summary(outputs)['steps']
    assert {k: v['status'] for k, v in steps.items()} == dict(platform='ok', pupil_record='skipped', nails_convert='skipped',
                                                              nails_web='skipped'), steps
    assert steps['pupil_record']['enable'] == _enable('ffmpeg') and 'ffmpeg not found' in steps['pupil_record']['reason']
    assert steps['nails_web']['enable'] == _enable('chromium') and 'chromium not found' in steps['nails_web']['reason']
    assert steps['nails_convert']['enable'] == _enable('node')   # the first of its missing programs
    md = (outputs/'demo'/'summary.md').read_text()
    assert 'Overall: ok (1 ok, 3 skipped, 0 failed)' in md
    for name in ('pupil_record', 'nails_convert', 'nails_web'): assert f"- {name}: `{steps[name]['enable']}`" in md
    assert 'FAILED' not in p.stdout and 'Traceback' not in p.stdout + p.stderr

def test_demo_records_with_the_registry_ffmpeg(outputs, hidden):
    pytest.importorskip('imageio_ffmpeg')
    env = {k: v for k, v in hidden.items() if k != 'VTLAB_FFMPEG'}   # ffmpeg only from the imageio-ffmpeg wheel
    run_cmd(['vtlab_demo', '--steps', 'pupil_record'], env={**env, 'VTLAB_OUTPUTS': str(outputs)}, timeout=300)
    res = _summary(outputs)['steps']['pupil_record']
    assert res['status'] == 'ok', res
    assert res['result']['video_matches_timing'] and res['result']['frames'] >= 250, res['result']   # 10 s at 30 fps, probed by PyAV

def test_nbdev_docs_is_guarded(tmp_path):
    "Without Quarto, the guarded nbdev_docs stops at once with what to run instead, and never reaches pip."
    bin_dir = tmp_path/'bin'; bin_dir.mkdir()
    (bin_dir/'python').symlink_to(sys.executable)
    subprocess.run([sys.executable, str(ROOT/'tools'/'guard_nbdev_docs.py'), str(bin_dir)], check=True, capture_output=True)
    (bin_dir/'pip').write_text('#!/bin/sh\ntouch "$(dirname "$0")/pip-was-called"\n'); (bin_dir/'pip').chmod(0o755)
    for name in ('nbdev_docs', 'nbdev_preview', 'nbdev_proc_nbs'):
        t0 = time.perf_counter()
        p = subprocess.run([str(bin_dir/name)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                           env={**os.environ, 'PATH': f'{bin_dir}:/usr/bin:/bin'})   # no quarto there
        assert p.returncode == 1 and 'Quarto is not installed' in p.stderr and 'make docs' in p.stderr, p.stderr
        assert time.perf_counter() - t0 < 30 and not (bin_dir/'pip-was-called').exists()
