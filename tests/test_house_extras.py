"""Each command starts on its own extra: `<command> --help` imports nothing outside `vtlab[<extra>]`
(tools/closure.py: an import hook refuses what the extra's distributions do not provide). `vtlab_record` must
start on the Pi's `pupil` extra alone and `vtlab_track` on the laptop's torch-free `gaze` extra alone."""
import sys
import pytest
from conftest import ROOT
sys.path.insert(0, str(ROOT/'tools'))
import closure

COMMANDS = sorted(closure.console_scripts())

def test_every_command_names_its_extra():
    missing = [c for c in COMMANDS if c not in closure.command_extras()]
    assert not missing, f'settings.ini command_extras lacks {missing}'
    unknown = {c: e for c, e in closure.command_extras().items() if c not in COMMANDS}
    assert not unknown, f'command_extras names commands that are not console scripts: {unknown}'
    for extra in set(closure.command_extras().values()): closure.extra_requirements(extra)  # raises for an unknown extra

COMMAND = """import argparse
{imports}
def main(argv=None):
    p = argparse.ArgumentParser(prog='x'); p.add_argument('--ok', help='has help'); p.add_argument('--bare')
    return p.parse_args(argv) and 0
"""

def test_the_hook_refuses_what_an_extra_lacks(tmp_path):
    "Known answers: torch is outside the pupil extra, so a command importing it at the top cannot start there."
    assert 'torch' not in closure.allowed_modules('pupil') and 'av' in closure.allowed_modules('pupil')
    assert 'torch' in closure.allowed_modules('train') and 'onnxruntime' in closure.allowed_modules('gaze')
    (tmp_path/'heavy_cmd.py').write_text(COMMAND.format(imports='import torch'))
    (tmp_path/'light_cmd.py').write_text(COMMAND.format(imports='import av, numpy'))
    res = closure.check_target('heavy_cmd:main', 'pupil', path=tmp_path)
    assert res['rc'] is None and "No module named 'torch' (not provided by vtlab[pupil])" in res['error'] and 'torch' in res['blocked'], res
    res = closure.check_target('heavy_cmd:main', 'train', path=tmp_path)
    assert res['rc'] == 0 and 'torch' in res['imported'] and res['no_help'] == ['x: --bare'], res
    res = closure.check_target('light_cmd:main', 'pupil', path=tmp_path)
    assert res['rc'] == 0 and {'av', 'numpy'} <= set(res['imported']) and 'torch' not in res['imported'], res

@pytest.mark.parametrize('command', COMMANDS)
def test_help_starts_on_its_extra(command):
    res = closure.check(command)
    assert res['rc'] == 0 and not res['error'], f"{command} --help on vtlab[{res['extra']}]: {res.get('error') or res}"
    assert res['help_chars'] > 100, res

@pytest.mark.parametrize('command, extra', [('vtlab_record', 'pupil'), ('vtlab_track', 'gaze')])
def test_runtime_commands_need_no_torch(command, extra):
    assert closure.command_extras()[command] == extra
    res = closure.check(command)
    assert res['rc'] == 0 and 'torch' not in res['imported'] and 'tensorflow' not in res['imported'], res
