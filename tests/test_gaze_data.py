"End to end: `vtlab_synth_gaze` writes an ETH-XGaze dataset that `ETHXGazeDataset` serves to spawn workers; the data bench runs."
import json

import h5py, numpy as np, pytest, torch
from torch.utils.data import DataLoader

from conftest import run_cmd
from vtlab.gaze.data import ETHXGazeDataset, GazeAugment


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    "A small dataset from the console script, rendered by two spawned worker processes."
    out = tmp_path_factory.mktemp('synth')/'ds'
    run_cmd(['vtlab_synth_gaze', '--subjects', '3', '--per-subject', '20', '--size', '64', '--test-subjects', '1',
             '--seed', '5', '--workers', '2', '--out', str(out)])
    return out


def test_synth_command_layout(synth):
    split = json.loads((synth/'train_test_split.json').read_text())
    assert split == {'train': ['subject0000.h5', 'subject0001.h5'], 'val': ['subject0002.h5'], 'test': ['subject0003.h5']}
    summary = json.loads((synth/'summary.json').read_text())
    assert summary['samples'] == 80 and summary['workers'] == 2
    assert summary['mean_predictor_val_deg'] >= 10
    with h5py.File(synth/'train/subject0001.h5') as f:
        assert f['face_patch'].chunks == (1, 64, 64, 3) and f['face_patch'].compression == 'lzf'
        assert f['face_gaze'].shape == (20, 2)
    assert (synth/'preview.png').is_file()


@pytest.mark.parametrize('context', ['spawn', 'fork'])
def test_loader_workers(synth, context):
    "Two workers under each start method give exactly the single-process samples, in order."
    ds = ETHXGazeDataset(synth, 'train')
    dl = DataLoader(ds, batch_size=10, num_workers=2, multiprocessing_context=context, persistent_workers=False)
    batches = list(dl)
    assert ds._handles is None                       # the parent never opened the files
    patches = torch.cat([b['face_patch'] for b in batches])
    assert patches.shape == (40, 64, 64, 3) and patches.dtype == torch.uint8
    assert torch.equal(patches[25], ds[25]['face_patch'])
    assert torch.equal(torch.cat([b['gaze_pitchyaw'] for b in batches])[25], ds[25]['gaze_pitchyaw'])
    assert sum(b['subject'].count('subject0001') for b in batches) == 20


def test_test_split_and_augmentation_in_workers(synth):
    "Unlabelled test subjects batch fine; augmentation runs in the workers with distinct random streams."
    test = ETHXGazeDataset(synth, 'test', transform=GazeAugment())
    b = next(iter(DataLoader(test, batch_size=20, num_workers=2, multiprocessing_context='spawn')))
    assert not b['has_gaze'].any() and torch.equal(b['gaze_pitchyaw'], torch.zeros(20, 2))
    plain = ETHXGazeDataset(synth, 'test')
    diff = (b['face_patch'].float() - torch.stack([plain[i]['face_patch'] for i in range(20)]).float()).abs().mean((1, 2, 3))
    assert (diff > 0.5).all()


def test_bench_command(tmp_path):
    run_cmd(['vtlab_bench_gaze_data', '--samples', '64', '--size', '64', '--reads', '16', '--rounds', '1', '--out', str(tmp_path)])
    res = json.loads((tmp_path/'gaze_data.json').read_text())
    assert (tmp_path/'gaze_data.png').stat().st_size > 5000
    assert all(res[k] > 0 for k in ('seed_sps', 'vtlab_sps', 'raw_sps'))
    assert res['file_info']['chunks'] == [1, 64, 64, 3] and res['file_info']['compression'] == 'lzf'
