"""Everything a Neon sends, recorded by `vtlab_record` from the stand-in and checked against what the stand-in sent.

One recording (module fixture) through the CLI, as a user makes it: passthrough scene video, eye video, audio,
gaze in the richest format a Neon sends (eye state, eyelids, monocular points), IMU, annotations typed on standard
input plus one sent from a second process, the phone's backup recording, a session/trial folder and `sync.csv`,
from a stand-in whose clock runs 250 ms ahead of the host. Each test reads one file back and compares it with the
stand-in's deterministic schedule: frame codes frame by frame, gaze values field by field (bit-exact as 32-bit
floats), audio sample by sample against the known signal, event names and device timestamps exactly.
"""
import json, os, shutil, signal, subprocess, sys, time, wave
from pathlib import Path

import numpy as np
import pytest

from conftest import BIN, ROOT, run_cmd

av = pytest.importorskip('av')
pytest.importorskip('pupil_labs.realtime_api')
from vtlab.pupil.neonsim import NeonSim
from vtlab.pupil.sim.wearer import imu_values
from vtlab.pupil.files import GAZE_DETAIL, GAZE_HEADER, SYNC_HEADER, read_csv
from vtlab.pupil.encode import probe_video
from vtlab.vision.framecode import read_frame_code

W, H, OFFSET_MS, SECONDS = 320, 240, 250.0, 8  # SECONDS: the least the recording lasts
TYPED = ['trial 2 start', 'stimulus on', 'trial 2 end']


def _cmd(sim, *extra):
    return [str(BIN/'vtlab_record'), '--port', str(sim.http_port), '--start-timeout', '60', *extra]


@pytest.fixture(scope='module')
def rec(tmp_path_factory):
    "Record at least SECONDS s with everything on; type three events, send one from another process, then Ctrl-C."
    root = tmp_path_factory.mktemp('sessions')
    with NeonSim(width=W, height=H, http_port=0, rtsp_port=0, time_echo_port=0, gaze_format='eyestate_eyelid_dual',
                 clock_offset_ms=OFFSET_MS) as sim:
        proc = subprocess.Popen(_cmd(sim, '--mode', 'passthrough', '--seconds', '300', '--out', str(root),
                                     '--session', 'P07', '--trial', '2', '--phone-backup', '--sync-every', '2', '--stdin-events'),
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = root/'P07'/'trial_002'
        typed, other = [], None
        try:
            t_end = time.monotonic() + 120
            while time.monotonic() < t_end and proc.poll() is None:  # wait until frames are written
                f = out/'frame_timing.csv'
                if f.exists() and f.read_text().count('\n') > 20: break
                time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            t_rec = time.monotonic()
            for k, name in enumerate(TYPED):
                time.sleep(0.8)
                typed.append((name, time.time_ns()))
                try: proc.stdin.write(name + '\n'); proc.stdin.flush()
                except BrokenPipeError: raise AssertionError(f'vtlab_record exited {proc.wait()}: {proc.stderr.read()[-3000:]}') from None
                if k == 1:  # another program annotates the same recording through the device
                    other = run_cmd(_cmd(sim, '--send-event', 'from another terminal'), timeout=60).stdout
            time.sleep(max(1.5, SECONDS - (time.monotonic() - t_rec)))
            proc.send_signal(signal.SIGINT)  # Ctrl-C: the recording stops and closes its files
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None: proc.kill(); proc.wait()
        assert proc.returncode == 0, stderr[-3000:]
        yield dict(sim=sim, out=out, stdout=stdout, stderr=stderr, typed=typed, other=other, events=list(sim.events),
                   recordings=list(sim.recordings), meta=json.loads((out/'metadata.json').read_text()))


def test_layout_metadata_and_phone_backup(rec):
    out, meta = rec['out'], rec['meta']
    assert out.parent.name == 'P07' and out.name == 'trial_002'
    assert meta['status'] == 'complete', meta.get('error')
    assert (meta['session'], meta['trial']) == ('P07', 2)
    assert {p.name for p in out.iterdir() if not p.name.endswith('.log')} == {
        'video.mp4', 'frame_timing.csv', 'gaze.csv', 'imu.csv', 'eye_events.csv', 'eyes.mp4', 'eye_timing.csv', 'audio.wav',
        'audio_timing.csv', 'events.csv', 'sync.csv', 'template.json', 'calibration.bin', 'metadata.json'}
    assert meta['not_offered'] == {}
    # the phone recorded too: one recording, saved, started and stopped with ours
    (phone,) = rec['recordings']
    assert phone['saved'] and meta['phone_recording']['id'] == phone['id'] and meta['phone_recording']['error'] is None
    assert abs(phone['rec_duration_ns'] / 1e9 - meta['duration_s']) < 2.0, (phone, meta['duration_s'])
    assert 'eye video' in rec['stdout'] and 'phone backup: ' + phone['id'] in rec['stdout']


def _missing(idx)->int: return int(idx[-1] - idx[0] + 1 - len(idx))

def _in_gaps(meta, stream:str, rate:float)->int:
    "Samples the device sent while `stream` was down (an outage the recorder reconnected through), at most."
    return sum(int(g['seconds'] * rate) + 2 for g in meta['gaps'] if g['stream'] == stream)

def test_scene_video_frame_by_frame(rec):
    "Every frame in the file is the one its timing row says; a frame is missing only where the counters say one was lost."
    sim, out, c = rec['sim'], rec['out'], rec['meta']['counters']
    timing = read_csv(out/'frame_timing.csv')
    with av.open(str(out/'video.mp4')) as f: codes = [read_frame_code(x.to_ndarray(format='bgr24')) for x in f.decode(video=0)]
    assert len(codes) == len(timing['frame_index']) > 20 * SECONDS
    assert codes == [sim.expected_frame_code(t / 1e9) for t in timing['device_ts_ns']]
    idx = np.array([sim.frame_index(t / 1e9) for t in timing['device_ts_ns']])
    allowed = c['frames_dropped'] + c['skipped_until_keyframe'] + _in_gaps(rec['meta'], 'video', 30)
    assert np.all(np.diff(idx) >= 1) and _missing(idx) <= allowed, (_missing(idx), c, rec['meta']['gaps'])


def test_eye_video_frame_by_frame(rec):
    "The same for eye video at 200 Hz (on a busy machine a lost eye frame makes the file resume at the next keyframe)."
    sim, out, meta = rec['sim'], rec['out'], rec['meta']
    c = meta['counters']
    timing = read_csv(out/'eye_timing.csv')
    with av.open(str(out/'eyes.mp4')) as f: frames = [x.to_ndarray(format='bgr24') for x in f.decode(video=0)]
    assert frames[0].shape == (192, 384, 3)
    assert len(frames) == len(timing['frame_index']) == meta['counters']['eye_frames_written'] > 150 * SECONDS
    assert [read_frame_code(f) for f in frames] == [sim.expected_eye_frame_code(t / 1e9) for t in timing['device_ts_ns']]
    idx = np.array([sim.eye_frame_index(t / 1e9) for t in timing['device_ts_ns']])
    allowed = c['eye_frames_dropped'] + c['eye_frames_skipped'] + _in_gaps(meta, 'eyes', 200)
    assert np.all(np.diff(idx) >= 1) and _missing(idx) <= allowed, (_missing(idx), c, meta['gaps'])
    steps = np.diff(timing['pts_s'])
    assert np.allclose(steps[np.diff(idx) == 1], 1 / 200, atol=1e-4)  # 200 Hz in the file, from the device's timestamps
    assert probe_video(out/'eyes.mp4')['frames'] == len(frames)


def test_gaze_rows_are_what_was_sent(rec):
    "Every field of the 105-byte format, in its documented column, equal to the stand-in's value as a 32-bit float."
    sim, g = rec['sim'], read_csv(rec['out']/'gaze.csv')
    n = len(g['device_ts_ns'])
    assert n > 150 * SECONDS
    ts = g['device_ts_ns'] / 1e9
    grid = np.round((ts - sim.epoch) * 200)
    assert np.all(np.abs(ts - sim.epoch - grid / 200) < 2e-5) and np.all(np.diff(grid) == 1), 'off the 200 Hz grid or a sample lost'
    columns = ['x_px', 'y_px', 'worn', *GAZE_DETAIL]  # the wire order of the format (`files.GAZE_DETAIL` follows it)
    got = np.stack([g[c] for c in columns], axis=1).astype(np.float32)
    sent = np.array([sim.expected_gaze(t) for t in ts], np.float32)
    sent[:, 2] = sent[:, 2] == 255  # worn: 255 on the wire, 1 in the CSV
    assert np.array_equal(got, sent), np.argwhere(got != sent)[:5]
    assert set(g) == set(GAZE_HEADER)


def test_audio_matches_the_known_signal(rec):
    sim, out = rec['sim'], rec['out']
    t = read_csv(out/'audio_timing.csv')
    with wave.open(str(out/'audio.wav')) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        pcm = np.frombuffer(w.readframes(w.getnframes()), '<i2') / 32767
    assert len(pcm) == t['first_sample'][-1] + t['samples'][-1] and len(t['frame_index']) > 6 * SECONDS
    steps = np.round(np.diff(t['device_ts_ns']) / 1e9 / 0.128)
    assert np.allclose(np.diff(t['device_ts_ns']) / 1e9, steps * 0.128, atol=1e-6)  # on the 128 ms grid
    assert np.sum(steps - 1) <= _in_gaps(rec['meta'], 'audio', 8000 / 1024), ('audio frames missing', rec['meta']['gaps'])
    errors = []
    for k in range(1, len(t['frame_index'])):
        if t['session'][k] != t['session'][k - 1]: continue  # a connection's first frame overlaps one its decoder never saw
        got = pcm[t['first_sample'][k]:t['first_sample'][k] + t['samples'][k]]
        want = sim.expected_audio(t['device_ts_ns'][k] / 1e9, len(got))
        errors.append(np.sqrt(np.mean((got - want) ** 2) / np.mean(want ** 2)))
    assert max(errors) < 0.05, max(errors)  # AAC: < 5 % rms error, frame by frame
    # the first unbroken stretch against the signal: the cross-correlation peaks at zero lag (timing exact to a sample)
    end = 1 + next((k for k in range(1, len(steps)) if steps[k] != 1), len(steps))  # (frame 0: the decoder warming up)
    first, last = t['first_sample'][1], t['first_sample'][end - 1] + t['samples'][end - 1]
    got, want = pcm[first:last], sim.expected_audio(t['device_ts_ns'][1] / 1e9, last - first)
    assert last - first >= 8000 * 3, 'less than 3 s of unbroken audio'
    lags = range(-40, 41)
    corr = [np.dot(got[max(0, l):len(got) + min(0, l)], want[max(0, -l):len(want) - max(0, l)]) for l in lags]
    assert lags[int(np.argmax(corr))] == 0


def test_imu_rows_are_what_was_sent(rec):
    imu = read_csv(rec['out']/'imu.csv')
    assert len(imu['device_ts_ns']) > 80 * SECONDS
    for i in range(0, len(imu['device_ts_ns']), 25):
        v = imu_values(imu['device_ts_ns'][i] / 1e9)
        assert abs(imu['quat_y'][i] - v['quat'][1]) < 1e-6 and abs(imu['gyro_y'][i] - v['gyro'][1]) < 1e-3


def test_events_round_trip_with_device_time(rec):
    e = read_csv(rec['out']/'events.csv')
    sent = {ev['name']: ev['timestamp'] for ev in rec['events']}  # what the stand-in received
    assert sorted(e['name'].tolist()) == sorted([*TYPED, 'from another terminal'])
    for name, ts, source, host_ns in zip(e['name'], e['device_ts_ns'], e['source'], e['host_unix_ns']):
        assert ts == sent[name]  # exactly the device timestamp the phone stored
        assert source == ('device' if name == 'from another terminal' else 'vtlab')
        if source == 'vtlab':  # stamped with the device time of the moment it was sent: host + 250 ms
            assert abs((ts - host_ns) / 1e6 - OFFSET_MS) < 20, (name, (ts - host_ns) / 1e6)
    for name, typed_ns in rec['typed']:  # ... not before the line was typed (within the offset's ~10 ms error), soon after
        assert -10 <= (sent[name] - typed_ns) / 1e6 - OFFSET_MS < 2000
    assert set(e['recording_id']) == {rec['meta']['phone_recording']['id']}
    assert 'from another terminal' in rec['other']


def test_sync_csv_is_monotonic_and_matches_the_device_clock(rec):
    s = read_csv(rec['out']/'sync.csv')
    assert list(s) == SYNC_HEADER and len(s['host_unix_ns']) >= SECONDS // 2
    for c in ('host_monotonic_ns', 'host_unix_ns', 'device_unix_ns'): assert np.all(np.diff(s[c]) > 0), c
    # the stand-in's offset, within each row's own error bound: half its round trip (+1 ms: the protocol counts whole ms)
    err = np.abs((s['device_unix_ns'] - s['host_unix_ns']) / 1e6 - OFFSET_MS)
    assert np.all(err <= s['roundtrip_ms'] / 2 + 1), np.c_[err, s['roundtrip_ms']]
    assert np.ptp((s['host_unix_ns'] - s['host_monotonic_ns']) / 1e6) < 5  # UTC and monotonic agree (no clock step)
    assert np.median(err) <= 1.0


def test_template_and_calibration_saved_as_served(rec):
    from pupil_labs.neon_recording.calib import Calibration
    sim, out = rec['sim'], rec['out']
    t = json.loads((out/'template.json').read_text())
    assert t['definition']['id'] == sim.api.template['id'] and t['answers'] == sim.api.template_data
    assert [i['title'] for i in t['definition']['items']] == ['Participant', 'Condition', 'Notes']
    assert (out/'calibration.bin').read_bytes() == sim.api.calibration
    assert Calibration.from_file(str(out/'calibration.bin')).serial == sim.api.calibration[1:7].decode()


def test_what_the_device_does_not_offer(tmp_path):
    "No microphone, no eye cameras, no template, no calibration: the recording completes and says why each is missing."
    with NeonSim(width=W, height=H, http_port=0, rtsp_port=0, time_echo_port=0, audio=False, eyes=False,
                 template=False, calibration=False) as sim:
        p = run_cmd(_cmd(sim, '--seconds', '2', '--out', str(tmp_path/'bare'), '--no-stdin-events'), timeout=180)
    meta = json.loads((tmp_path/'bare'/'metadata.json').read_text())
    assert meta['status'] == 'complete', meta.get('error')
    assert set(meta['not_offered']) == {'audio', 'eyes', 'template', 'calibration'}, meta['not_offered']
    assert 'microphone' in meta['not_offered']['audio'] and '404' in meta['not_offered']['template']
    names = {f.name for f in (tmp_path/'bare').iterdir()}
    assert not names & {'audio.wav', 'eyes.mp4', 'template.json', 'calibration.bin'} and {'events.csv', 'sync.csv'} <= names
    assert 'no audio: the device streams no audio' in p.stdout


def test_discover_lists_the_stand_in():
    with NeonSim(width=W, height=H, http_port=0, rtsp_port=0, time_echo_port=0, advertise=True, device_name='Lab Neon',
                 seed=int(time.time()) % 100000) as sim:
        p = run_cmd([str(BIN/'vtlab_record'), '--discover', '--seconds', '5'], timeout=60)
    assert f'Lab Neon  127.0.0.1:{sim.http_port}' in p.stdout, p.stdout


def test_disk_full_with_every_stream(tmp_path):
    "A 3 MB disk fills within seconds with eye video and audio on: everything stops, every file stays readable."
    if os.geteuid() != 0 or not shutil.which('mount'): pytest.skip('mounting a small tmpfs needs root')
    mnt = tmp_path/'small'; mnt.mkdir()
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', str(mnt)], capture_output=True, text=True)
    if r.returncode != 0: pytest.skip(f'cannot mount a tmpfs here: {r.stderr.strip()}')
    try:
        with NeonSim(width=W, height=H, http_port=0, rtsp_port=0, time_echo_port=0) as sim:
            p = subprocess.run(_cmd(sim, '--mode', 'passthrough', '--seconds', '120', '--out', str(mnt/'rec'), '--no-stdin-events'),
                               cwd=ROOT, capture_output=True, text=True, timeout=180)
        out = mnt/'rec'
        assert p.returncode == 1 and 'vtlab_record: error: disk full: ' in p.stderr, p.stderr[-3000:]
        meta = json.loads((out/'metadata.json').read_text())
        assert meta['status'] == 'failed' and meta['error'].startswith('disk full: ')
        for f in out.glob('*.csv'):  # every CSV ends on a whole row
            data = f.read_bytes(); header = data.split(b'\n', 1)[0]
            assert data.endswith(b'\n') and all(l.count(b',') == header.count(b',') for l in data.split(b'\n')[:-1]), f
        eye_rows = len(read_csv(out/'eye_timing.csv')['frame_index'])
        eye_frames = probe_video(out/'eyes.mp4')['frames']  # plays, up to its last whole fragment
        assert eye_frames > 0 and abs(eye_frames - eye_rows) <= 100, (eye_frames, eye_rows)  # within one flush window (100 rows)
        with wave.open(str(out/'audio.wav')) as w:  # a valid WAV of what was flushed
            t = read_csv(out/'audio_timing.csv')
            assert w.getnframes() <= (t['first_sample'][-1] + t['samples'][-1] if len(t['samples']) else 0)
    finally:
        subprocess.run(['umount', '-l', str(mnt)], capture_output=True)
