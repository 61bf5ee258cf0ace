#!/usr/bin/env python3
"""Does each command start on its own extra? The import closure of every console script, checked against it.

usage: tools/closure.py [COMMAND ...] [--extra EXTRA] [--json]      (default: every console script of settings.ini)

Which extra a command needs is data: `command_extras` in settings.ini (`core` = no extra, `dev` = everything).
For each command this runs, in a fresh interpreter, `<its main>(['--help'])` behind an import hook that refuses
every top-level module not provided by the extra: the standard library, vtlab itself, and the distributions
the extra's requirements bring in, followed through the installed packages' own metadata (`Requires-Dist`,
markers and requested extras honoured), mapped to the modules they install (`packages_distributions`).
A refused import raises `ModuleNotFoundError`, exactly as on a machine with only that extra installed, so a
command whose parser module imports torch at the top fails here the way it would on the Pi. Measured
against the installed environment, so it is fast (no throwaway venv) and only as good as the dev venv is
complete: it cannot see a module the dev venv lacks.

The same run records every parser the command built and the flags without help text, for the `--help` test.
"""
from __future__ import annotations
import argparse, configparser, functools, json, re, subprocess, sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def settings()->configparser.SectionProxy:
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini', encoding='utf-8')
    return cfg['DEFAULT']

def console_scripts()->dict[str, str]:
    "Command name -> 'module:function', from settings.ini."
    return dict(e.split('=', 1) for e in settings()['console_scripts'].split())

def command_extras()->dict[str, str]:
    "Command name -> the extra it needs, from settings.ini's `command_extras`."
    return dict(e.split('=', 1) for e in settings().get('command_extras', '').split())

def extra_requirements(extra:str)->list[str]:
    "The requirement strings an install of `vtlab[extra]` asks for (the core's included; 'core' = no extra)."
    s = settings()
    reqs = s['requirements'].split()
    if extra == 'core': return reqs
    roles = {r.replace('_', '-'): r for r in s['extras'].split()}
    if extra in ('dev', 'all'): return reqs + s['dev_requirements'].split() + [x for r in roles.values() for x in s[f'{r}_requirements'].split()]
    if extra not in roles: raise KeyError(f'unknown extra {extra!r} (known: core, {", ".join(roles)}, dev)')
    return reqs + s[f'{roles[extra]}_requirements'].split()

def _norm(name:str)->str: return re.sub(r'[-_.]+', '-', name).lower()

def distributions(requirements:list[str])->set[str]:
    "Every installed distribution these requirements pull in, transitively (normalised names)."
    from packaging.requirements import Requirement
    seen, todo = set(), [(Requirement(r), frozenset()) for r in requirements]
    while todo:
        req, _ = todo.pop()
        name = _norm(req.name)
        key = (name, frozenset(req.extras))
        if key in seen: continue
        seen.add(key)
        try: dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError: continue   # not installed here: nothing to allow
        for r in dist.requires or []:
            sub = Requirement(r)
            envs = [{'extra': e} for e in req.extras] or [{'extra': ''}]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs): todo.append((sub, frozenset()))
    return {name for name, _ in seen}

@functools.lru_cache(maxsize=1)
def _module_owners()->dict[str, list[str]]: return metadata.packages_distributions()

@functools.lru_cache(maxsize=None)
def allowed_modules(extra:str)->frozenset[str]:
    "Top-level modules an install of `vtlab[extra]` provides besides the standard library and vtlab."
    dists = distributions(extra_requirements(extra))
    return frozenset(mod for mod, owners in _module_owners().items() if any(_norm(d) in dists for d in owners))

DRIVER = r'''
import argparse, contextlib, importlib, io, json, sys
allowed, extra, module, func = set(ARGS['allowed']), ARGS['extra'], ARGS['module'], ARGS['func']
std, blocked, parsers = set(sys.stdlib_module_names) | {'org'}, set(), []  # stdlib probes for Jython's `org`
class Refuse:
    "Refuse top-level modules the extra does not provide."
    def find_spec(self, name, path=None, target=None):
        top = name.partition('.')[0]
        if path is not None or top in allowed or top in std or top == 'vtlab' or top.startswith('_sysconfigdata'): return None
        blocked.add(top)
        raise ModuleNotFoundError(f'No module named {top!r} (not provided by vtlab[{extra}])', name=top)
if extra != 'dev': sys.meta_path.insert(0, Refuse())
_init = argparse.ArgumentParser.__init__
def _record(self, *a, **kw): _init(self, *a, **kw); parsers.append(self)
argparse.ArgumentParser.__init__ = _record
before = set(sys.modules)
out, err, rc, error = io.StringIO(), io.StringIO(), None, None
try:
    main = getattr(importlib.import_module(module), func)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main(['--help'])
        except SystemExit as e: rc = e.code
except BaseException as e: error = f'{type(e).__name__}: {e}'
imported = sorted({m.partition('.')[0] for m in set(sys.modules) - before} & set(ARGS['known']) - {'vtlab'})  # modules of installed distributions
no_help = sorted({f'{p.prog}: {"/".join(a.option_strings) or a.dest}' for p in parsers for a in p._actions if not a.help})
print('\n' + json.dumps(dict(rc=rc, error=error, help_chars=len(out.getvalue()), imported=imported, blocked=sorted(blocked),
                            no_help=no_help)))
'''

def check_target(target:str, extra:str, path:str|None=None, timeout:float=120)->dict:
    "Run `module:function`(['--help']) in a fresh interpreter behind the import hook of `extra` (`path`: put first on sys.path)."
    module, func = target.split(':')
    allowed = sorted(allowed_modules(extra)) + ([module.partition('.')[0]] if path else [])  # the module itself, when outside vtlab
    args = dict(allowed=allowed if extra != 'dev' else [], extra=extra, module=module, func=func, known=sorted(_module_owners()))
    prelude = f'import sys; sys.path.insert(0, {str(path)!r})\n' if path else ''
    p = subprocess.run([sys.executable, '-c', prelude + f'ARGS = {json.dumps(args)}\n' + DRIVER], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT)
    try: return json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError): return dict(rc=None, error=f'driver exited {p.returncode}: {p.stderr.strip()[-800:]}')

def check(command:str, extra:str|None=None, timeout:float=120)->dict:
    "Run `command --help` behind the import hook of `extra` (default: its `command_extras` entry)."
    extra = extra or command_extras().get(command)
    if extra is None: return dict(command=command, extra=None, error=f'{command}: no command_extras entry in settings.ini')
    return dict(command=command, extra=extra, **check_target(console_scripts()[command], extra, timeout=timeout))

def main(argv:list[str]|None=None)->int:
    p = argparse.ArgumentParser(prog='closure', description=__doc__.split('\n\n')[0])
    p.add_argument('commands', nargs='*', help='console scripts (default: all in settings.ini)')
    p.add_argument('--extra', help="check against this extra instead of the command's own")
    p.add_argument('--json', action='store_true', help='print JSON')
    args = p.parse_args(argv)
    rows = [check(c, args.extra) for c in args.commands or console_scripts()]
    if args.json: print(json.dumps(rows, indent=1)); return 0
    bad = 0
    for r in rows:
        ok = r.get('rc') == 0 and not r.get('error')
        bad += not ok
        what = 'ok' if ok else f"FAILS: {r.get('error') or 'exit ' + str(r.get('rc'))}"
        print(f"{r['command']:<26} [{r['extra']}] {what}; third-party imports: {', '.join(r.get('imported', [])) or '-'}"
              + (f"; refused: {', '.join(r['blocked'])}" if r.get('blocked') else ''))
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
