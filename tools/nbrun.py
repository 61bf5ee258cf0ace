#!/usr/bin/env python3
"""Run the notebooks as `nbdev_test` does, and keep one executed copy of each for the documentation site.

usage: tools/nbrun.py [NOTEBOOK ...] [--n-workers 2] [--flags slow] [--timing] [--reuse] [--out _proc]

Execution is nbdev's own: the notebook is read through `NBProcessor` with the front-matter processor, cells
flagged with a `tst_flags` directive of settings.ini (`#| slow`, `#| gpu`) or `#| eval: false` are skipped
unless `--flags` names them, each notebook runs in its own execnb `CaptureShell` in its own folder, stopping at
the first error, several at a time in worker processes (`--n-workers`, as `nbdev_test --n_workers`). The
folders the project skips with `nbdev_test --skip_folder_re` are skipped here too: `runs/` (papermill notebooks) and
`_*`/`.*` folders, plus any folder holding a `.notest` file.

Each notebook also gets its own scratch folder: `TMPDIR` (and Python's `tempfile.tempdir`) point into a fresh
folder for the run, which is deleted when the notebook ends, passed or failed. Notebook tests make their
temporary files with `tempfile.mkdtemp()` and leave them, as a reader running a notebook by hand would expect
to find them; before this, one `make test` left 44 such folders (0.26 GB, the gaze importers' checkpoints the
most) in /tmp, run after run, on a disk CI shares. The scratch folders lie in one folder of the whole run,
deleted at its end: a library that remembered a notebook's temporary folder (torch's compile cache does) and
makes it again while a later notebook runs in the same worker leaves nothing behind either. The executed copy
records how much the notebook left there (`scratch_mb`).

Unlike nbdev_test, each executed notebook is written to `--out` (default `_proc/`, git-ignored) at the same
relative path, failed ones included (they end at the failing cell, whose error is its output). The copy
keeps nbdev's processed form: `#|` directives are removed from the source and recorded as cell tags (so a
renderer can hide `#| hide` cells), and the title cell becomes nbdev's front-matter raw cell. Its metadata
records the notebook's sha1, the flags, whether it passed and how long it took, so `--reuse` (what
`make docs` passes) runs only the notebooks whose copy is missing, failed, or older than the notebook.
Exit code 1 when a notebook fails, listing them, as nbdev_test does.
"""
from __future__ import annotations
import argparse, contextlib, hashlib, json, os, re, shutil, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_FOLDER_RE = re.compile(r'^(runs|[_.].*)$')

def notebooks(nbs:Path)->list[Path]:
    "The notebooks `make test` runs: under `nbs`, outside `runs/`, `_*`, `.*` and folders holding `.notest`."
    out = []
    for p in sorted(nbs.rglob('*.ipynb')):
        rel = p.relative_to(nbs)
        if any(SKIP_FOLDER_RE.match(part) for part in rel.parts[:-1]) or p.name.startswith(('_', '.')): continue
        if (p.parent/'.notest').exists(): continue
        out.append(p)
    return out

def rel(fn:Path, base:Path)->Path:
    "`fn` relative to `base`, or its bare name when it lies elsewhere (a notebook named on the command line)."
    return fn.relative_to(base) if fn.is_relative_to(base) else Path(fn.name)

def sha1(path:Path)->str: return hashlib.sha1(path.read_bytes()).hexdigest()

def folder_mb(path:Path)->float:
    "Megabytes of the files under `path` (files that vanish while it counts are skipped)."
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError): total += os.lstat(os.path.join(root, f)).st_size
    return total / 1e6

@contextlib.contextmanager
def scratch(name:str, root:Path|None=None):
    "A fresh temporary folder (in `root`) that `tempfile` and child processes (`$TMPDIR`) use inside the block, deleted after it."
    old_env, old_tempdir = os.environ.get('TMPDIR'), tempfile.tempdir
    path = Path(tempfile.mkdtemp(prefix=f'{name}-' if root else f'vtlab-{name}-', dir=root))
    os.environ['TMPDIR'], tempfile.tempdir = str(path), str(path)
    try: yield path
    finally:
        tempfile.tempdir = old_tempdir
        if old_env is None: os.environ.pop('TMPDIR', None)
        else: os.environ['TMPDIR'] = old_env
        shutil.rmtree(path, ignore_errors=True)

def _directive_tags(directives:dict)->list[str]:
    "Cell tags for a renderer: the directive names, plus nbconvert's remove_input/remove_output for echo/output false."
    tags = [k.rstrip(':') for k in directives]
    if directives.get('echo:', [''])[0].lower() == 'false': tags.append('remove_input')
    if directives.get('output:', [''])[0].lower() == 'false': tags.append('remove_output')
    return tags

def run_notebook(fn:Path, out:Path, skip_flags:list[str], force_flags:list[str], basepath:Path, scratch_root:Path|None=None)->tuple[bool, float]:
    "Execute `fn` as nbdev's `test_nb` does and write the executed copy to `out`; (passed, seconds)."
    from fastcore.basics import str2bool
    from fastcore.xtras import working_directory
    from nbdev.process import NBProcessor, nb_lang
    from nbdev.frontmatter import FrontmatterProc
    from execnb.nbio import write_nb
    from execnb.shell import CaptureShell
    if str(basepath) not in sys.path: sys.path.insert(0, str(basepath))
    os.environ['IN_TEST'] = '1'
    flags = set(skip_flags) - set(force_flags)
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    fm = getattr(nb, 'frontmatter_', {})
    start, ok, err = time.time(), True, ''
    if not (str2bool(fm.get('skip_exec', False)) or nb_lang(nb) != 'python'):
        def _no_eval(cell):
            if cell.cell_type != 'code': return True
            if 'nbdev_export' + '(' in cell.source: return True
            direc = getattr(cell, 'directives_', {}) or {}
            if direc.get('eval:', [''])[0].lower() == 'false': return True
            return flags & direc.keys()
        with scratch(f'nbrun-{fn.stem}', scratch_root) as tmp:
            k = CaptureShell(fn)
            try:
                with working_directory(fn.parent): k.run_all(nb, exc_stop=True, preproc=_no_eval)
            except BaseException:
                ok, err = False, k.prettytb(fname=fn)
                sys.stderr.write(err + '\n')
            scratch_mb = folder_mb(tmp)
    else: scratch_mb = 0.0
    secs = time.time() - start
    for cell in nb.cells:
        tags = _directive_tags(getattr(cell, 'directives_', {}) or {})
        if tags: cell.setdefault('metadata', {})['tags'] = tags
    nb.metadata['vtlab_nbrun'] = dict(notebook=str(rel(fn, basepath)), source_sha1=sha1(fn), ok=ok,
                                      seconds=round(secs, 1), scratch_mb=round(scratch_mb, 1), skip_flags=sorted(flags), finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f'.{out.name}.tmp')
    write_nb(nb, tmp); os.replace(tmp, out)
    return ok, secs

def _run_one(fn:Path, out_dir:Path=None, nbs:Path=None, **kw):
    return run_notebook(fn, out_dir/rel(fn, nbs), **kw)

def is_current(fn:Path, copy:Path, flags:list[str])->bool:
    "Whether `copy` is a passing executed copy of `fn` as it is now, run with the same skip flags."
    try: meta = json.loads(copy.read_text(encoding='utf-8'))['metadata'].get('vtlab_nbrun', {})
    except (OSError, ValueError, KeyError): return False
    return meta.get('ok') is True and meta.get('source_sha1') == sha1(fn) and meta.get('skip_flags') == sorted(flags)

def main(argv:list[str]|None=None)->int:
    p = argparse.ArgumentParser(prog='nbrun', description=__doc__.split('\n\n')[0])
    p.add_argument('paths', nargs='*', help='notebooks to run (default: every notebook make test runs)')
    p.add_argument('--n-workers', type=int, default=2, help='notebooks run at once, each in its own process')
    p.add_argument('--flags', default='', help='space-separated test flags to run that are normally skipped (e.g. slow)')
    p.add_argument('--timing', action='store_true', help='print how long each notebook took, slowest first')
    p.add_argument('--reuse', action='store_true', help='skip notebooks whose executed copy is current and passed')
    p.add_argument('--out', type=Path, default=ROOT/'_proc', help='where the executed copies go')
    args = p.parse_args(argv)
    from fastcore.parallel import parallel
    from nbdev.config import get_config
    cfg = get_config(path=ROOT)
    nbs = Path(cfg.nbs_path).resolve()
    files = [Path(f).resolve() for f in args.paths] if args.paths else notebooks(nbs)
    skip_flags, force_flags = cfg.tst_flags.split(), args.flags.split()
    flags = sorted(set(skip_flags) - set(force_flags))
    if not args.paths and not args.reuse:  # a full run: copies of notebooks that no longer exist must go
        keep = {args.out/f.relative_to(nbs) for f in files}
        for stale in args.out.rglob('*.ipynb') if args.out.exists() else []:
            if stale not in keep: stale.unlink()
    todo = [f for f in files if not (args.reuse and is_current(f, args.out/rel(f, nbs), flags))]
    print(f'nbrun: {len(todo)} of {len(files)} notebooks to run ({len(files) - len(todo)} executed copies reused) -> {args.out}')
    if not todo: return 0
    t0 = time.time()
    from fastcore.xtras import working_directory
    # Workers get `_run_one` by name: from this file imported as a module, since running a notebook replaces the
    # worker's `__main__` with IPython's (a second notebook in the same worker would not find `__main__._run_one`).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import nbrun
    root = Path(tempfile.mkdtemp(prefix='vtlab-nbrun-'))   # every notebook's scratch folder lies in it
    try:
        with working_directory(nbs):  # where nbdev_test runs its workers from
            results = parallel(nbrun._run_one, todo, out_dir=args.out.resolve(), nbs=nbs, skip_flags=skip_flags, force_flags=force_flags,
                               basepath=cfg.config_path, scratch_root=root, n_workers=min(args.n_workers, len(todo)) if len(todo) > 1 else 0, pause=0.01)
    finally: shutil.rmtree(root, ignore_errors=True)
    passed, times = zip(*results)
    if args.timing:
        for i, t in sorted(enumerate(times), key=lambda o: o[1], reverse=True): print(f'{todo[i].name}: {int(t)} secs')
    print(f'nbrun: {sum(passed)} passed, {len(passed) - sum(passed)} failed in {time.time() - t0:.0f} s wall')
    if all(passed): return 0
    sys.stderr.write('\nnbrun: failed notebooks:\n\t' + '\n\t'.join(f.name for ok, f in zip(passed, todo) if not ok) + '\n')
    return 1

if __name__ == '__main__': sys.exit(main())
