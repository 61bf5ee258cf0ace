"The foundation's commands, run as a user runs them: installed console scripts in a subprocess."
import configparser, importlib, json
from conftest import ROOT, run_cmd

def test_every_console_script_resolves():
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    entries = cfg['DEFAULT']['console_scripts'].split()
    assert entries, 'settings.ini lists no console_scripts'
    for entry in entries:
        name, target = entry.split('=')
        module, func = target.split(':')
        assert name.startswith('vtlab_'), name
        assert callable(getattr(importlib.import_module(module), func)), entry

def test_vtlab_env_json():
    caps = json.loads(run_cmd(['vtlab_env', '--json', '--no-probe']).stdout)
    assert caps['usable_cores'] >= 1 and caps['is_raspberry_pi'] in (True, False)
    assert 'CPUExecutionProvider' in caps['onnxruntime_providers']

def test_vtlab_env_table():
    out = run_cmd(['vtlab_env', '--no-probe']).stdout
    assert 'usable_cores' in out and 'best_h264_encoder' in out

def test_bench_profiler_writes_json_and_chart(outputs):
    run_cmd(['vtlab_bench_profiler', '--measures', '20000', '--rounds', '2'], env={'VTLAB_OUTPUTS': str(outputs)})
    res = json.loads((outputs/'bench'/'profiler.json').read_text())
    assert res['enabled_ns_per_measure'] >= 0 and res['rounds'] == 2 and res['chart'] == 'profiler.png'
    assert (outputs/'bench'/'profiler.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert sorted(p.name for p in (outputs/'bench').iterdir()) == ['profiler.json', 'profiler.png']  # nothing half-written

def test_demo_platform_step(outputs):
    run_cmd(['vtlab_demo', '--steps', 'platform,profiler'], env={'VTLAB_OUTPUTS': str(outputs)})
    summary = json.loads((outputs/'demo'/'summary.json').read_text())
    assert summary['ok'] and set(summary['steps']) == {'platform', 'profiler'}
    assert '| profiler | ok |' in (outputs/'demo'/'summary.md').read_text()
