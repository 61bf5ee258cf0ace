"""`python -m build` works offline: the sdist carries settings.ini and README.md, the wheel is built from the
sdist, and both carry what a user needs (every module, every data file beside them, the console scripts, the
metadata of each machine role's extra). Built with --no-isolation from this venv (no registry access) in a
copy of the working tree, so the checkout gains no build/ or egg-info."""
import configparser, email, shutil, subprocess, sys, tarfile, zipfile
from pathlib import Path
import pytest
from conftest import ROOT

@pytest.fixture(scope='module')
def dist(tmp_path_factory):
    src, out = tmp_path_factory.mktemp('src'), tmp_path_factory.mktemp('dist')
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT/f).is_file(): (src/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/f, src/f)
    p = subprocess.run([sys.executable, '-m', 'build', '--no-isolation', '--outdir', str(out), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert 'Building wheel from sdist' in p.stdout + p.stderr, p.stderr[-2000:]   # the wheel came from the sdist
    return dict(files=[f for f in files if (ROOT/f).is_file()], sdist=next(out.glob('*.tar.gz')), wheel=next(out.glob('*.whl')))

def test_sdist_rebuilds_itself(dist):
    names = {n.split('/', 1)[1] for n in tarfile.open(dist['sdist']).getnames() if '/' in n}
    assert {'settings.ini', 'README.md', 'setup.py', 'pyproject.toml', 'PKG-INFO'} <= names, sorted(names)[:20]

def test_wheel_carries_every_module_and_data_file(dist):
    names = set(zipfile.ZipFile(dist['wheel']).namelist())
    shipped = [f for f in dist['files'] if f.startswith('vtlab/') and '__pycache__' not in f]
    missing = [f for f in shipped if f not in names]
    assert not missing, f'files under vtlab/ the wheel lacks (add their suffix to MANIFEST.in): {missing}'

def test_wheel_metadata(dist):
    zf = zipfile.ZipFile(dist['wheel'])
    info = next(n for n in zf.namelist() if n.endswith('.dist-info/METADATA'))
    meta = email.message_from_string(zf.read(info).decode())
    assert meta['License-Expression'] == 'Apache-2.0'
    classifiers = meta.get_all('Classifier')
    assert any(c.startswith('Development Status') for c in classifiers) and not any(c.startswith('License ::') for c in classifiers)
    extras = meta.get_all('Provides-Extra')
    assert set(extras) == {'gaze', 'gaze-lab', 'train', 'pupil', 'pupil-panel', 'nails', 'dev', 'all'}, extras
    per_extra = {e: [r for r in meta.get_all('Requires-Dist') if f'extra == "{e}"' in r] for e in extras}
    assert all(per_extra.values()), {e: len(r) for e, r in per_extra.items()}   # no empty extra
    assert not any(r.startswith('torch') for r in per_extra['gaze'] + per_extra['pupil'] + per_extra['nails']), 'runtime extras pull torch'
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    scripts = {e.split('=')[0] for e in cfg['DEFAULT']['console_scripts'].split()}
    ep = zf.read(next(n for n in zf.namelist() if n.endswith('entry_points.txt'))).decode()
    assert all(f'{s} = ' in ep for s in scripts), ep
