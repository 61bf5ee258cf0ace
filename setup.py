"Packaging for vtlab, driven by settings.ini (nbdev 2 layout); no pkg_resources."
from configparser import ConfigParser
from pathlib import Path
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

def reqs(key):
    "Split a whitespace-separated requirements entry of settings.ini."
    return cfg.get(key, '').split()

# One extra per machine role (settings.ini says which is which); `x_y_requirements` becomes the extra `x-y`.
roles = cfg['extras'].split()
extras = {r.replace('_', '-'): reqs(f'{r}_requirements') for r in roles}
# `dev` is what `make test` needs: every role extra plus the tooling (the conversion venv is built apart).
extras['dev'] = sorted(set(reqs('dev_requirements')).union(*extras.values()))
extras['all'] = extras['dev']

py = [f'3.{v}' for v in range(int(cfg['min_python'].split('.')[1]), 13)]
status = {'1': 'Planning', '2': 'Pre-Alpha', '3': 'Alpha', '4': 'Beta', '5': 'Production/Stable'}[cfg['status']]
classifiers = [f"Development Status :: {cfg['status']} - {status}", f"Intended Audience :: {cfg['audience']}",
               'Intended Audience :: Science/Research', f"Natural Language :: {cfg['language']}",
               'Operating System :: POSIX :: Linux', 'Operating System :: MacOS', 'Framework :: Jupyter',
               'Topic :: Scientific/Engineering :: Image Recognition', 'Programming Language :: Python :: 3',
               *[f'Programming Language :: Python :: {v}' for v in py]]

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    license_expression=cfg['license_expression'], classifiers=classifiers, keywords=cfg['keywords'].split(),
    author=cfg['author'], author_email=cfg['author_email'],
    url=cfg['git_url'], python_requires=f">={cfg['min_python']}",
    # namespace discovery so the data folders (nails/js, nails/webapp, nails/weights) ship as package data
    packages=setuptools.find_namespace_packages(include=['vtlab', 'vtlab.*']),
    include_package_data=True, zip_safe=False,
    install_requires=reqs('requirements'), extras_require=extras,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    long_description=Path('README.md').read_text(encoding='utf-8') if Path('README.md').exists() else '',
    long_description_content_type='text/markdown',
)
