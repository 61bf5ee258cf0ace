#!/usr/bin/env python3
"""usage: tools/guard_nbdev_docs.py BIN   (the venv's bin folder; `make venv` runs it after every install)

Without Quarto, nbdev's docs commands install it for you: `nbdev_docs`, `nbdev_preview` and `nbdev_proc_nbs`
call `nbdev.quarto._ensure_quarto`, which downloads Quarto with `sudo` and then runs `pip install -e ".[dev]"`
with whatever pip is first on PATH. vtlab renders its documentation with `make docs` instead (executed
notebooks and an API reference, offline: tools/docs.py). This replaces those console scripts in BIN with
wrappers that refuse to run when Quarto is missing, saying what to run instead, and run nbdev's command
unchanged when Quarto is installed."""
import sys
from pathlib import Path

GUARDED = {'nbdev_docs': 'nbdev.quarto:nbdev_docs', 'nbdev_preview': 'nbdev.quarto:nbdev_preview',
           'nbdev_proc_nbs': 'nbdev.quarto:nbdev_proc_nbs'}
MARK = '# vtlab guard (tools/guard_nbdev_docs.py)'

WRAPPER = '''#!{python}
{mark}: nbdev would install Quarto with sudo and pip-install vtlab's dev extra
# into whatever pip is on PATH when Quarto is missing. vtlab's docs come from `make docs`.
import shutil, sys
if not shutil.which('quarto'):
    sys.exit("{name}: Quarto is not installed, and nbdev would install it (with sudo) and then pip-install vtlab's dev "
             "extra behind your back, so vtlab stops it here.\\nvtlab's documentation: `make docs` renders the executed "
             "notebooks and an API reference into _docs/, offline.")
from {module} import {func}
sys.exit({func}())
'''

def guard(bin_dir:Path)->list[Path]:
    "Write the wrappers into `bin_dir`, using its python; return the scripts written."
    python = bin_dir/'python'
    written = []
    for name, target in GUARDED.items():
        module, func = target.split(':')
        path = bin_dir/name
        path.write_text(WRAPPER.format(python=python, mark=MARK, name=name, module=module, func=func))
        path.chmod(0o755)
        written.append(path)
    return written

if __name__ == '__main__':
    if len(sys.argv) != 2 or not Path(sys.argv[1], 'python').exists(): sys.exit(__doc__)
    for p in guard(Path(sys.argv[1])): print(f'guarded {p}')
