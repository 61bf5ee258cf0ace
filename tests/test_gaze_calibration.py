"Per-user calibration end to end: the papermill run notebook and the benchmark command."
import json, subprocess, sys
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

def test_bench_calibration_writes_json_and_plot(tmp_path):
    run_cmd(['vtlab_bench_calibration', '--users', '1', '--out', str(tmp_path)])
    res = json.loads((tmp_path/'calibration.json').read_text())
    for level in res['results'].values():
        assert level['few-shot 9']['px_mae'] < level['geometric']['px_mae']
    assert (tmp_path/'calibration.png').stat().st_size > 10_000

def test_runtime_and_training_build_identical_features(tmp_path):
    "The real gaze pipeline's live samples and the same samples stored by the collector give identical features."
    import numpy as np
    from vtlab.gaze.calibration import (CalibrationWriter, RidgeMapper, calibration_features,
                                        load_calibration_data)
    from vtlab.gaze.runtime import FrameSource, GazePipeline, ScreenConfig, astronaut_video
    screen = ScreenConfig(1920, 1080, 34.5, 19.4)
    video, _ = astronaut_video(n_frames=120)
    frames = [f.image for f in FrameSource(video, max_frames=12)]
    live = GazePipeline(screen=screen, smoother='none')
    writer = CalibrationWriter(tmp_path/'calib', screen, frame_size=(640, 480))
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
    mapped = GazePipeline(screen=screen, smoother='none', screen_mapper=mapper)
    for i, f in enumerate(frames[:4]):
        s = mapped.process(f, t=i / 30)
        np.testing.assert_array_equal([s.raw_x_norm, s.raw_y_norm], mapper.predict([records[i]])[0])
