"Per-user calibration end to end: the papermill run notebook and the benchmark command."
import json, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT, run_cmd

def test_calibrate_user_notebook_headless(tmp_path):
    out = tmp_path/'run'; out.mkdir()
    p = subprocess.run([sys.executable, '-m', 'papermill', str(ROOT/'nbs/runs/calibrate_user.ipynb'), str(out/'calibrate.ipynb'),
                        '-p', 'out_dir', str(out), '-p', 'method', 'geometric+refine', '--no-progress-bar'],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads((out/'summary.json').read_text())
    assert summary['method'] == 'geometric+refine' and summary['cross_validated']['n_targets'] == 9
    assert summary['cross_validated']['deg_mae'] < 1.5
    cal = json.loads((out/'calibration.json').read_text())
    assert cal['kind'] == 'geometric' and cal['params']['refine']

def test_bench_calibration_end_to_end(tmp_path):
    "One rendered user through the real runtime with the shipped model: calibrating beats not calibrating; JSON and PNG written."
    run_cmd(['vtlab_bench_calibration', '--users', '1', '--test-targets', '20', '--out', str(tmp_path)], timeout=1200)
    res = json.loads((tmp_path/'calibration.json').read_text())
    r = res['results']
    for m in ('geometric+refine 9', 'few-shot 9', 'fine-tuned 9 + few-shot 9'): assert r[m]['px_mae'] < r['geometric']['px_mae'], m
    # per single frame, few-shot 9 is 'Acceptable' (< 80 px and < 2.5 deg) with the shipped model: measured for this user
    # 66.5 px / 1.09 deg (4 users, 40 targets: 67.2 px / 1.19 deg; the previous default model: 97.8 px / 1.74 deg, Poor)
    assert r['few-shot 9']['deg_mae'] < 2.5 and r['few-shot 9']['px_mae'] < 80, r['few-shot 9']
    # each held-out target is a 6-frame fixation; its mean point is never further off than its frames on average
    for m, v in r.items(): assert v['fixation']['px_mae'] <= v['px_mae'] + 1e-9, m
    assert r['ridge 25']['fixation']['px_mae'] < 0.95 * r['ridge 25']['px_mae'], r['ridge 25']   # and averaging does remove noise
    frames = res['per_user'][0]['_frames']
    assert frames['fixations'] == 20 and frames['test'] >= 6 * 20 - 3 and frames['missed'] <= 6 and not res['wiring_model']
    assert (tmp_path/'calibration.png').stat().st_size > 10_000

def test_runtime_and_training_build_identical_features(tmp_path):
    "The real gaze pipeline's live samples and the same samples stored by the collector give identical features."
    import numpy as np
    from vtlab.gaze.calibration import (CalibrationWriter, RidgeMapper, calibration_features,
                                        load_calibration_data)
    from vtlab.gaze.runtime import CalibrationMismatch, FrameSource, GazePipeline, astronaut_video
    from vtlab.gaze.screen import ScreenConfig
    screen = ScreenConfig(1920, 1080, 34.5, 19.4)
    video, _ = astronaut_video(n_frames=120)
    frames = [f.image for f in FrameSource(video, max_frames=12)]
    live = GazePipeline(screen=screen, smoother='none')
    writer = CalibrationWriter(tmp_path/'calib', screen, frame_size=(640, 480), gaze_model=live.gaze_model.identity)
    targets = np.random.default_rng(0).uniform(0.1, 0.9, (len(frames), 2))
    samples = [live.process(f, t=i / 30) for i, f in enumerate(frames)]
    assert all(s.face for s in samples)
    for f, s, xy in zip(frames, samples, targets): writer.add(f, xy, s.to_record((640, 480)))
    data = load_calibration_data(tmp_path/'calib')
    F_train, records, T = data.arrays()
    F_live = np.stack([calibration_features(s.to_record((640, 480)), screen.aspect_ratio) for s in samples])
    assert F_train.tobytes() == F_live.tobytes()
    # and the pipeline maps through the same features when a calibration is loaded
    mapper = RidgeMapper(screen).fit(records, T)
    mapper.gaze_model = data.session.gaze_model                 # as calibrate_folder does: the model it maps travels with it
    mapped = GazePipeline(screen=screen, smoother='none', screen_mapper=mapper)
    for i, f in enumerate(frames[:4]):
        s = mapped.process(f, t=i / 30)
        np.testing.assert_array_equal([s.raw_x_norm, s.raw_y_norm], mapper.predict([records[i]])[0])
    # and it is refused by a pipeline running another model, whose gaze it was not fitted on
    with pytest.raises(CalibrationMismatch, match='fitted on gaze_default.onnx .* this run uses gaze_eth224.onnx'):
        GazePipeline(gaze_model='eth224', screen=screen, screen_mapper=mapper)

def test_collect_calibrate_track_checks_the_screen_point(tmp_path):
    """A user's whole path, with the answer known: a rendered person (personal kappa, a camera 1 cm off where the screen
    config says, 50 degree lens) sits at the screen, the head drifting smoothly; `CalibrationRun` runs the default loop
    (tracking on) on the 5x5 dots; `calibrate_folder` fits ridge; then `vtlab_track --calib` runs on 20 held-out
    fixations of 6 frames. The per-fixation screen point is checked against the dot, and against two runs that lack
    part of the calibration: the intrinsics (only calibration.json, so the 60-degree guess) and the mapper (only
    camera.json + screen.json, the plain ray-screen intersection). And the cursor a user sees (the default one-euro
    smoother) settles by each fixation's last frame about where the fixation's mean point is."""
    import dataclasses
    import cv2, numpy as np
    from vtlab.gaze.calibration import calibrate_folder, load_calibration_data
    from vtlab.gaze.calibration_bench import _draw_user
    from vtlab.gaze.closedloop import synth_config_for
    from vtlab.gaze.collect import CalibrationProtocol, CalibrationRun
    from vtlab.gaze.geometry import vector_to_pitchyaw
    from vtlab.gaze.runtime import GazeModel, GazePipeline, default_gaze_model
    from vtlab.gaze.screen import ScreenConfig, screen_to_camera_mm
    gm, screen = GazeModel(default_gaze_model()), ScreenConfig(1920, 1080, 34.5, 19.4)
    user = dataclasses.replace(_draw_user(np.random.default_rng(0), screen, synth_config_for(gm.contract), 0), hfov_deg=50)
    centre, step = screen_to_camera_mm(np.array([0.5, 0.5]), user.true_screen), iter(range(10**6))
    def pose():   # the head drifts (a few cm, a few degrees) and roughly faces the screen: a person, not a teleport
        t = next(step); fc = np.asarray(user.head_mm, float) + [25 * np.sin(t / 37), 12 * np.sin(t / 23), 30 * np.sin(t / 53)]
        return fc, vector_to_pitchyaw(centre - fc) + np.radians([3 * np.sin(t / 29), 4 * np.sin(t / 41)]), 2 * np.sin(t / 31)
    run = None
    frames = (user.observe(run.current[0], pose())[0] for _ in iter(int, 1))
    run = CalibrationRun(tmp_path/'session', frames, GazePipeline(gaze_model=gm, screen=screen, camera=user.camera).process, screen,
                         CalibrationProtocol('5x5', fixation_delay_s=0))
    while not run.done:
        for _ in range(10): pose()              # the fixation delay: the head moves on, the loop sees none of it
        run.capture()
    assert run.summary()['samples_written'] == 75 and load_calibration_data(run.folder).session.gaze_model == gm.identity
    calib = Path(calibrate_folder(run.folder, 'ridge')['calibration']).parent
    assert sorted(p.name for p in calib.iterdir()) == ['calibration.json', 'camera.json']
    targets = np.random.default_rng(99).uniform(0.05, 0.95, (20, 2))
    (tmp_path/'frames').mkdir()
    for i in range(len(targets) * 6): cv2.imwrite(str(tmp_path/'frames'/f'{i:04d}.png'), user.observe(targets[i // 6], pose())[0])
    (tmp_path/'no_camera').mkdir(); (tmp_path/'no_mapper').mkdir()
    (tmp_path/'no_camera'/'calibration.json').write_text((calib/'calibration.json').read_text())
    (tmp_path/'no_mapper'/'camera.json').write_text((calib/'camera.json').read_text()); screen.save(tmp_path/'no_mapper'/'screen.json')
    err, px = {}, targets[:, None] * [1920, 1080]
    for name in ('calibration', 'no_camera', 'no_mapper', 'smoothed'):
        folder = tmp_path/name if name in ('no_camera', 'no_mapper') else calib
        run_cmd(['vtlab_track', '--source', tmp_path/'frames', '--calib', folder, '--smoother', 'one_euro' if name == 'smoothed' else 'none',
                 '--out', tmp_path/f'run_{name}'])
        s = [json.loads(l) for l in (tmp_path/f'run_{name}'/'samples.jsonl').read_text().splitlines()]
        assert len(s) == 120 and all(r['face'] for r in s), name
        k = 'x_px y_px' if name == 'smoothed' else 'raw_x_px raw_y_px'
        xy = np.array([[np.nan] * 2 if r[k.split()[0]] is None else [r[c] for c in k.split()] for r in s]).reshape(20, 6, 2)
        if name == 'smoothed': err['smoothed, last frame'] = float(np.linalg.norm(xy[:, -1] - px[:, 0], axis=1).mean()); continue
        err[name] = float(np.linalg.norm(np.nanmean(xy, 1) - px[:, 0], axis=1).mean())
        if name == 'calibration': err['calibration, every frame'] = float(np.nanmean(np.linalg.norm(xy - px, axis=2)))
    print('screen error, px (per fixation unless said):', {k: round(v, 1) for k, v in err.items()})
    # measured 43.5 / 149.6 / 100.3 px (every frame 54.3, the smoothed cursor at the fixation's end 48.6); with the previous default
    # model (vtlab_cnn, 90 people) 72.9 / 186.8 / 137.6, and for other users, rendered a little differently (`_draw_user` seeds 1-3):
    # calibrated 55-96, the guess 119-227, no mapper 97-194
    assert err['calibration'] < 65 and err['calibration'] < 0.6 * err['no_camera'] and err['calibration'] < 0.7 * err['no_mapper'], err
    assert err['smoothed, last frame'] < min(1.15 * err['calibration'], err['calibration, every frame']), err   # the cursor settles
