"The Neon stand-in (`vtlab.pupil.neonsim`) against the real, unmodified `pupil-labs-realtime-api` client."
import asyncio, os, socket, threading, time, urllib.error, urllib.request
import numpy as np
import pytest

pl = pytest.importorskip('pupil_labs.realtime_api')
from pupil_labs.realtime_api import (Device, receive_eye_events_data, receive_gaze_data, receive_imu_data,
                                     receive_video_frames)
from pupil_labs.realtime_api.simple import Device as SimpleDevice
from vtlab.pupil.neonsim import NeonSim, NeonSimProcess
from vtlab.pupil.sim.wearer import GAZE_FORMATS, gaze_path, gaze_values, imu_values
from vtlab.vision.framecode import read_frame_code

SMALL = dict(width=320, height=240, http_port=0, rtsp_port=0, time_echo_port=0, loop_s=2, idr_interval_s=0.5)


async def take(agen, n, timeout_s=20):
    "First `n` items of an async generator (fewer if it ends), then close it."
    out = []
    async def run():
        async for x in agen:
            out.append(x)
            if len(out) == n: break
    try: await asyncio.wait_for(run(), timeout_s)
    finally: await agen.aclose()
    return out


def check_frames(sim, frames):
    assert frames, 'no frames received'
    for f in frames:
        img = f.bgr_buffer()
        assert img.shape == (sim.height, sim.width, 3)
        assert read_frame_code(img) == sim.expected_frame_code(f.timestamp_unix_seconds)
        assert abs(f.timestamp_unix_seconds - sim.frame_time(sim.frame_index(f.timestamp_unix_seconds))) < 1e-4


def check_gaze(sim, gaze, fmt='gaze'):
    assert gaze, 'no gaze received'
    for g in gaze:
        sent = sim.expected_gaze(g.timestamp_unix_seconds)
        got = tuple(g)[:-1]  # every field but the timestamp, in wire order
        if fmt == 'dual': got = (*g.left, g.worn, *g.right)
        assert got == tuple(v == 255 if i == 2 else v for i, v in enumerate(sent)), (fmt, got, sent)
        assert abs(g.timestamp_unix_seconds - sim.gaze_sample_time(g.timestamp_unix_seconds)) < 1e-4


def test_async_api_all_streams_udp_and_tcp():
    "Scene frames (UDP and TCP-interleaved), gaze, IMU and eye events through the async API; gaze received == sent."
    async def main(sim):
        async with Device(sim.address, sim.http_port) as dev:
            st = await dev.get_status()
            w, g = st.direct_world_sensor().url, st.direct_gaze_sensor().url
            return await asyncio.gather(
                take(receive_video_frames(w), 15), take(receive_video_frames(w.replace('rtsp://', 'rtspt://')), 15),
                take(receive_gaze_data(g), 100), take(receive_gaze_data(g.replace('rtsp://', 'rtspt://')), 50),
                take(receive_imu_data(st.direct_imu_sensor().url), 30),
                take(receive_eye_events_data(st.direct_eye_events_sensor().url), 4))
    with NeonSim(**SMALL) as sim:
        frames, frames_tcp, gaze, gaze_tcp, imu, events = asyncio.run(main(sim))
        check_frames(sim, frames); check_frames(sim, frames_tcp)
        check_gaze(sim, gaze); check_gaze(sim, gaze_tcp)
        assert len(gaze) == 100 and np.all(np.diff([round(x.timestamp_unix_seconds * 200) for x in gaze]) == 1)
        assert len(imu) == 30 and all(abs(m.quaternion.y - imu_values(m.timestamp_unix_seconds)['quat'][1]) < 1e-6 for m in imu)
        assert len(events) == 4 and {type(e).__name__ for e in events} <= {'FixationEventData', 'FixationOnsetEventData', 'BlinkEventData'}


@pytest.mark.parametrize('fmt', [f for f in GAZE_FORMATS if f != 'gaze'])
def test_gaze_variants(fmt):
    "Every gaze payload length the client knows (17, 25, 65, 89, 105 bytes) parses to exactly what was sent."
    async def main(sim):
        return await take(receive_gaze_data(sim.url('gaze')), 20)
    with NeonSim(gaze_format=fmt, **SMALL) as sim:
        check_gaze(sim, asyncio.run(main(sim)), fmt)


def test_simple_api_matched_frames_imu_events():
    "The simple API: matched scene frame + gaze, IMU and eye events; overlays can be checked against `gaze_path`."
    with NeonSim(**SMALL) as sim:
        dev = SimpleDevice(sim.address, sim.http_port)
        try:
            assert dev.phone_name == 'Neon Sim' and dev.module_serial
            matched = [dev.receive_matched_scene_video_frame_and_gaze(timeout_seconds=10) for _ in range(15)]
            imu = dev.receive_imu_datum(timeout_seconds=10)
            ev = dev.receive_eye_events(timeout_seconds=10)
        finally: dev.close()
        assert all(m is not None for m in matched)
        for m in matched:
            assert read_frame_code(m.frame.bgr_pixels) == sim.expected_frame_code(m.frame.timestamp_unix_seconds)
            assert (m.gaze.x, m.gaze.y) == sim.expected_gaze(m.gaze.timestamp_unix_seconds)[:2]
            # the received timestamp carries the 90 kHz RTP rounding (<= 11 us): mid-saccade that moves the path slightly
            x, y = gaze_path(m.gaze.timestamp_unix_seconds, sim.width, sim.height)
            assert abs(m.gaze.x - x) < 0.5 and abs(m.gaze.y - y) < 0.5
        assert imu is not None and ev is not None


def test_websocket_status_and_recording():
    "The websocket pushes the Sensor components on connect and Recording updates on start/stop; REST errors are clear."
    async def main(sim):
        async with Device(sim.address, sim.http_port) as dev:
            got = []
            async def listen():
                async for c in dev.status_updates():
                    got.append(c)
                    if type(c).__name__ == 'Recording' and c.action == 'SAVE': return
            task = asyncio.create_task(listen())
            while sum(type(c).__name__ == 'Sensor' for c in got) < 5: await asyncio.sleep(0.02)
            rid = await dev.recording_start()
            with pytest.raises(pl.device.DeviceError, match='already running'): await dev.recording_start()
            ev = await dev.send_event('trial 1', event_timestamp_unix_ns=123)
            await dev.recording_stop_and_save()
            await asyncio.wait_for(task, 10)
            with pytest.raises(pl.device.DeviceError, match='not running'): await dev.recording_cancel()
            return got, rid, ev
    with NeonSim(**SMALL) as sim:
        got, rid, ev = asyncio.run(main(sim))
        assert {c.sensor for c in got if type(c).__name__ == 'Sensor'} >= {'world', 'gaze', 'imu', 'eye_events'}
        assert [c.action for c in got if type(c).__name__ == 'Recording'] == ['START', 'STOP', 'SAVE']
        assert ev.timestamp == 123 and ev.recording_id == rid and sim.events[0]['name'] == 'trial 1'


def _refused(host, port):
    try: socket.create_connection((host, port), timeout=1).close(); return False
    except OSError: return True


def test_drop_and_return_ends_generators_then_reconnects():
    "The device disappears: the client's generators end, connections are refused; when it returns a new connection works."
    async def stream_until_end(sim):
        frames, gaze = [], []
        async def fr():
            async for f in receive_video_frames(sim.url('world')): frames.append(f)
        async def gz():
            async for g in receive_gaze_data(sim.url('gaze', tcp=True)): gaze.append(g)
        t = asyncio.gather(fr(), gz())
        while len(frames) < 5: await asyncio.sleep(0.05)
        t_down = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, lambda: sim.go_down(2.0))
        await asyncio.wait_for(t, 5)  # both generators simply end
        return frames, gaze, time.monotonic() - t_down
    with NeonSim(**SMALL) as sim:
        frames, gaze, ended_after_s = asyncio.run(stream_until_end(sim))
        assert ended_after_s < 3 and sim.is_down
        assert _refused(sim.address, sim.http_port) and _refused(sim.address, sim.rtsp_port)
        with pytest.raises(urllib.error.URLError): urllib.request.urlopen(f'http://{sim.address}:{sim.http_port}/api/status', timeout=1)
        sim.wait_until_up(10)
        check_frames(sim, frames); check_gaze(sim, gaze)
        async def again():
            async with Device(sim.address, sim.http_port) as dev:
                st = await dev.get_status()
                return await take(receive_video_frames(st.direct_world_sensor().url), 5)
        check_frames(sim, asyncio.run(again()))
        assert sim.stats['downs'] == 1


def test_periodic_drop_in_a_child_process():
    "`vtlab_neon_sim --drop-every S --down-for S` in a child process: the stream ends at each drop and resumes."
    async def main(sim):
        spans = []
        for _ in range(2):
            while True:  # reconnect until the device answers again (a refused connection just ends the generator)
                frames = await take(receive_video_frames(sim.url('world')), 10 ** 6, timeout_s=10)
                if frames: break
                await asyncio.sleep(0.2)
            spans.append(frames)
        return spans
    with NeonSimProcess(drop_every_s=2.5, down_for_s=1.0, **SMALL) as sim:
        spans = asyncio.run(main(sim))
        assert sim.proc.poll() is None
    for frames in spans:
        check_frames(sim, frames)
        assert len(frames) > 10  # ~2 s of video before each drop


def test_full_resolution_scene():
    "Neon's 1600x1200 scene at 30 fps, briefly: frames decode and carry the scheduled frame code."
    async def main(sim): return await take(receive_video_frames(sim.url('world')), 10)
    with NeonSim(width=1600, height=1200, http_port=0, rtsp_port=0, time_echo_port=0, loop_s=1, idr_interval_s=0.5) as sim:
        check_frames(sim, asyncio.run(main(sim)))


def test_start_stop_leaks_nothing_and_bad_input():
    "Repeated start/stop leaves no threads or file descriptors; bad arguments name the culprit."
    def counts(): return threading.active_count(), len(os.listdir('/proc/self/fd'))
    with NeonSim(**SMALL): pass  # warm caches (encoded loop, imports)
    before = counts()
    for _ in range(5):
        with NeonSim(**SMALL) as sim:
            asyncio.run(take(receive_gaze_data(sim.url('gaze')), 3))
    assert counts() == before, (before, counts())
    with pytest.raises(ValueError, match='gaze_format'): NeonSim(gaze_format='bino')
    with pytest.raises(ValueError, match='even'): NeonSim(width=321, **{k: v for k, v in SMALL.items() if k != 'width'}).start()
    with NeonSim(**SMALL) as sim:
        with pytest.raises(OSError, match='could not listen'): NeonSim(**{**SMALL, 'http_port': sim.http_port}).start()
        with socket.create_connection((sim.address, sim.rtsp_port), timeout=5) as s:  # malformed requests get answers
            s.sendall(b'SETUP rtsp://h/?camera=world RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;client_port=x\r\n\r\n'
                      b'DESCRIBE rtsp://h/?camera=nope RTSP/1.0\r\nCSeq: 2\r\n\r\nFOO rtsp://h/ RTSP/1.0\r\nCSeq: 3\r\n\r\n')
            buf = b''
            while buf.count(b'\r\n\r\n') < 3: buf += s.recv(4096)
        assert [l.split()[1] for l in buf.decode().split('\r\n') if l.startswith('RTSP/1.0')] == ['400', '404', '501']


def test_keepalive_video_file_and_late_sender_report(tmp_path):
    "GET_PARAMETER keepalives at 0.9 x the session timeout; a video file as the scene; RTP before the first SR is dropped."
    import subprocess
    video = tmp_path / 'scene.mp4'
    from vtlab.sysdeps import require
    subprocess.run([require('ffmpeg'), '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '1.5',
                    '-pix_fmt', 'yuv420p', str(video)], check=True)
    async def main(sim):
        frames = await take(receive_video_frames(sim.url('world')), 60)
        return frames
    with NeonSim(video=video, session_timeout_s=2, first_sr_delay_s=0.5, **{k: v for k, v in SMALL.items() if k != 'loop_s'}) as sim:
        t0 = time.time()
        frames = asyncio.run(main(sim))
        assert sim.clip.n_frames == 45 and sim.stats['get_parameter'] >= 1  # keepalive every int(2 * 0.9) = 1 s
        check_frames(sim, frames)
        # the session started at t0, but the first frame the client yields was taken after the first SR (0.5 s later)
        assert frames[0].timestamp_unix_seconds > t0 + 0.4


def test_stall_and_delivery_faults():
    "A stall leaves a gap and the scene restarts at an IDR; bursts and latency delay delivery but change no datum."
    async def main(sim):
        frames, arrivals = [], []
        async def fr():
            async for f in receive_video_frames(sim.url('world')): frames.append(f)
        async def gz():
            async for g in receive_gaze_data(sim.url('gaze')): arrivals.append((time.time(), g))
        tasks = [asyncio.create_task(fr()), asyncio.create_task(gz())]
        while len(frames) < 5: await asyncio.sleep(0.02)
        sim.stall(0.7)
        await asyncio.sleep(1.5)
        for t in tasks: t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return frames, arrivals
    with NeonSim(burst_frames=4, latency_ms=80, **SMALL) as sim:
        frames, arrivals = asyncio.run(main(sim))
        check_frames(sim, frames); check_gaze(sim, [g for _, g in arrivals])
        idx = [sim.frame_index(f.timestamp_unix_seconds) for f in frames]
        gap = max(np.diff(idx))
        assert gap >= 0.6 * sim.fps, idx  # frames taken during the stall were never sent
        after = idx[int(np.argmax(np.diff(idx))) + 1]
        assert after % round(sim.idr_interval_s * sim.fps) == 0  # the first frame after the stall is an IDR
        delays = [t_arr - g.timestamp_unix_seconds for t_arr, g in arrivals]
        assert np.min(delays) >= 0.08  # latency_ms
        assert sim.stats['stalls'] == 1
        # every gaze sample missing from what arrived is one the stand-in counted as skipped, none lost on the way
        k = np.array([round((g.timestamp_unix_seconds - sim.epoch) * sim.gaze_hz) for _, g in arrivals])
        missing = int((np.diff(k) - 1).sum())
        assert (np.diff(k) >= 1).all() and missing == sim.stats['skipped']['gaze'] >= 0.6 * sim.gaze_hz, (missing, sim.stats['skipped'])


# -- eye video, audio, templates, calibration, discovery ------------------------------------------------------------

def test_eye_video_and_audio_through_the_client():
    "Eye video over UDP and TCP: every frame the 200 Hz schedule's, none missing; audio: the known signal at its timestamps."
    from pupil_labs.realtime_api import receive_audio_frames
    async def main(sim):
        async with Device(sim.address, sim.http_port) as dev:
            st = await dev.get_status()
            eyes = st.direct_eyes_sensor().url
            return await asyncio.gather(take(receive_video_frames(eyes), 200), take(receive_video_frames(eyes.replace('rtsp://', 'rtspt://')), 50),
                                        take(receive_audio_frames(st.direct_audio_sensor().url), 12))
    with NeonSim(**SMALL) as sim:
        eyes, eyes_tcp, audio = asyncio.run(main(sim))
        for f in eyes + eyes_tcp:
            assert f.bgr_buffer().shape == (192, 384, 3)
            assert read_frame_code(f.bgr_buffer()) == sim.expected_eye_frame_code(f.timestamp_unix_seconds)
        assert np.all(np.diff([sim.eye_frame_index(f.timestamp_unix_seconds) for f in eyes]) == 1)
        assert len(audio) == 12 and all(a.av_frame.sample_rate == 8000 for a in audio)
        steps = np.diff([a.timestamp_unix_seconds for a in audio])
        assert np.allclose(steps, 0.128, atol=1e-6), steps  # one AAC frame every 128 ms, none lost
        for a in audio[1:]:  # (the decoder's first frame overlaps a frame it never saw)
            x, want = a.to_ndarray()[0], sim.expected_audio(a.timestamp_unix_seconds, 1024)
            assert np.sqrt(np.mean((x - want) ** 2) / np.mean(want ** 2)) < 0.05


def test_what_a_phone_may_not_offer_in_a_child_process():
    "`vtlab_neon_sim --no-audio --no-eyes --no-template --no-calibration`: what the client concludes about each."
    from pupil_labs.realtime_api.streaming import RTSPAudioStreamer
    async def main(sim):
        async with Device(sim.address, sim.http_port) as dev:
            st = await dev.get_status()
            streamer = RTSPAudioStreamer(st.direct_audio_sensor().url)
            await streamer.__aenter__()   # DESCRIBEs the world URL and finds no audio media
            available = streamer._stream_available
            await streamer.__aexit__(None, None, None)
            errors = []
            for call in (dev.get_template, dev.get_calibration):
                try: await call(); errors.append(None)
                except pl.device.DeviceError as e: errors.append(e.args[0])
            return st, available, errors
    with NeonSimProcess(audio=False, eyes=False, template=False, calibration=False, **SMALL) as sim:
        st, available, errors = asyncio.run(main(sim))
    assert st.direct_eyes_sensor().url is None and not available and errors == [404, 404]


def test_discovery_finds_the_stand_in():
    "With `advertise=True` the real `discover_devices` finds the stand-in on loopback, and its address and port reach the API."
    from pupil_labs.realtime_api.discovery import discover_devices
    async def main(sim):
        async for d in discover_devices(timeout_seconds=15):
            if d.name == sim.mdns.name:
                async with Device.from_discovered_device(d) as dev: return d, await dev.get_status()
        return None, None
    with NeonSim(advertise=True, seed=int(time.time()) % 100000, **SMALL) as sim:
        found, st = asyncio.run(main(sim))
    assert found is not None, 'not discovered'
    assert found.addresses == ['127.0.0.1'] and found.port == sim.http_port and st.phone.device_name == 'Neon Sim'
