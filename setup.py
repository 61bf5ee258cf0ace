"Packaging for vtlab, driven by settings.ini (nbdev 2 layout); no pkg_resources."
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

def reqs(key):
    "Split a whitespace-separated requirements entry of settings.ini."
    return cfg.get(key, '').split()

pillars = ['gaze', 'pupil', 'nails', 'convert']
extras = {p: reqs(f'{p}_requirements') for p in pillars}
# `dev` is what `make test` needs: every pillar that runs in this environment plus the tooling.
# The conversion stack (TensorFlow, onnx2tf) lives in its own venv, so `convert` is not in `dev`.
extras['dev'] = sorted(set(reqs('dev_requirements') + extras['gaze'] + extras['pupil'] + extras['nails']))
extras['all'] = sorted(set(sum(extras.values(), [])))

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    license='Apache-2.0', author=cfg['author'], author_email=cfg['author_email'],
    url=cfg['git_url'], python_requires=f">={cfg['min_python']}",
    # namespace discovery so the data folders (nails/js, nails/webapp, nails/weights) ship as package data
    packages=setuptools.find_namespace_packages(include=['vtlab', 'vtlab.*']),
    include_package_data=True, zip_safe=False,
    install_requires=reqs('requirements'), extras_require=extras,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    long_description=open('README.md', encoding='utf-8').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
)
