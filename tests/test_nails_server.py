"Hostile requests against the nail web server (a real NailsServer process on 127.0.0.1, raw sockets): status, nothing written, still answering."
import json, re, socket, subprocess, sys, threading, time
from pathlib import Path
import pytest
from conftest import ROOT

MB = 1 << 20


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "A NailsServer in its own process over a models folder with published models and conversion scratch; yields (port, results, pid, models)."
    from vtlab.nails.server import VENDOR
    d = tmp_path_factory.mktemp('server')
    models, results, nm = d/'models', d/'results', d/'node_modules'
    for rel in VENDOR.values(): (nm/rel).parent.mkdir(parents=True, exist_ok=True); (nm/rel).write_text('// vendored')
    for rel, text in {'pass1_256/model.json': json.dumps({'weightsManifest': [{'paths': ['group1-shard1of1.bin']}]}),
                      'pass1_256/group1-shard1of1.bin': 'weights', 'pass1.onnx': 'onnx',
                      'manifest.json': json.dumps({'pass1': {'variants': [{'tfjs': 'models/pass1_256/model.json', 'onnx': 'models/pass1.onnx'}]}}),
                      'work/pass1_256/job.json': json.dumps({'out_dir': str(d)}), 'work/pass1_256/convert.log': 'log',
                      'work/pass1_256/tf_outputs/heatmaps.npy': 'npy'}.items():
        (models/rel).parent.mkdir(parents=True, exist_ok=True); (models/rel).write_text(text)
    results.mkdir()
    (results/'bench_tfjs-wasm.json').write_text(json.dumps({'summary': {'end_to_end_ms': {'p50_ms': 42.0}}}))
    code = ('from vtlab.nails.server import NailsServer\n'
            f'srv = NailsServer(port=0, models={str(models)!r}, results={str(results)!r}, node_modules={str(nm)!r})\n'
            'print(srv.server_address[1], flush=True); srv.serve_forever()')
    proc = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        port = int(proc.stdout.readline())
        yield port, results, proc.pid, models
    finally:
        proc.terminate(); proc.wait(10)


def read_response(s:socket.socket)->tuple[int, dict, bytes]:
    "Status, headers and body of one HTTP/1.1 response (Content-Length framed)."
    buf = b''
    while b'\r\n\r\n' not in buf:
        chunk = s.recv(65536)
        if not chunk: raise ConnectionError(f'closed before a response: {buf[:200]!r}')
        buf += chunk
    head, body = buf.split(b'\r\n\r\n', 1)
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(':', 1) for l in lines[1:])}
    n = int(headers.get('content-length', 0))
    while len(body) < n: body += s.recv(65536)
    return status, headers, body[:n]


def is_closed(s:socket.socket)->bool:
    "Whether the server has closed this connection (a second request on it gets nothing)."
    try:
        s.sendall(b'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
        s.settimeout(5)
        return s.recv(1) == b''
    except (ConnectionResetError, BrokenPipeError): return True
    except socket.timeout: return False


def request(port:int, method:str, path:str, headers:dict, body:bytes=b'')->tuple[int, bool]:
    "Send one raw request; (status, whether the server then closed the connection)."
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    try:
        head = f'{method} {path} HTTP/1.1\r\n' + ''.join(f'{k}: {v}\r\n' for k, v in headers.items()) + '\r\n'
        s.sendall(head.encode('latin-1') + body)
        status, _, _ = read_response(s)
        return status, is_closed(s)
    finally: s.close()


def rss_mb(pid:int)->float:
    import psutil
    return psutil.Process(pid).memory_info().rss / MB


FORGED = '{"summary": {"end_to_end_ms": {"p50_ms": 1.0}}}'

def hostile_table(port:int)->list:
    "(what, method, path, headers, body, expected status, connection closed after it)"
    own = f'127.0.0.1:{port}'
    jh = lambda **kw: {'Host': own, 'Content-Type': 'application/json', **kw}
    body = FORGED.encode()
    deep = b'[' * 100_000 + b']' * 100_000
    return [
        ('cross-origin text/plain POST over bench results', 'POST', '/api/results/bench_tfjs-wasm',
         {'Host': own, 'Origin': 'http://evil.example', 'Content-Type': 'text/plain', 'Content-Length': len(body)}, body, 403, True),
        ('same-origin text/plain POST', 'POST', '/api/results/bench_tfjs-wasm', {'Host': own, 'Content-Type': 'text/plain', 'Content-Length': len(body)}, body, 415, True),
        ('form POST', 'POST', '/api/results/bench_tfjs-wasm', {'Host': own, 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': len(body)}, body, 415, True),
        ('opaque Origin: null', 'POST', '/api/results/bench_tfjs-wasm', jh(Origin='null', **{'Content-Length': len(body)}), body, 403, True),
        ('another local port as Origin', 'POST', '/api/results/bench_tfjs-wasm', jh(Origin='http://127.0.0.1:1', **{'Content-Length': len(body)}), body, 403, True),
        ('forged Host (DNS rebinding) GET', 'GET', '/', {'Host': f'rebind.example:{port}'}, b'', 403, False),
        ('forged Host POST', 'POST', '/api/results/bench_tfjs-wasm', {**jh(), 'Host': f'rebind.example:{port}', 'Origin': f'http://rebind.example:{port}', 'Content-Length': len(body)}, body, 403, True),
        ('Content-Length: abc', 'POST', '/api/results/x', jh(**{'Content-Length': 'abc'}), body, 400, True),
        ('Content-Length: -1', 'POST', '/api/results/x', jh(**{'Content-Length': '-1'}), body, 400, True),
        ('Content-Length: 1e3', 'POST', '/api/results/x', jh(**{'Content-Length': '1e3'}), body, 400, True),
        ('absent Content-Length', 'POST', '/api/results/x', jh(), body, 411, True),
        ('chunked body', 'POST', '/api/results/x', jh(**{'Transfer-Encoding': 'chunked'}), b'5\r\n{"a":\r\n0\r\n\r\n', 400, True),
        ('oversized Content-Length (1 TB), no body', 'POST', '/api/results/x', jh(**{'Content-Length': str(1 << 40)}), b'', 413, True),
        ('100k-deep JSON', 'POST', '/api/results/x', jh(**{'Content-Length': len(deep)}), deep, 400, False),
        ('40-deep JSON', 'POST', '/api/results/x', jh(**{'Content-Length': 121}), b'{"a":' * 20 + b'[' * 20 + b'1' + b']' * 20 + b'}' * 20, 400, False),
        ('JSON array', 'POST', '/api/results/x', jh(**{'Content-Length': 6}), b'[1, 2]', 400, False),
        ('invalid JSON', 'POST', '/api/results/x', jh(**{'Content-Length': 5}), b'{nope', 400, False),
        ('traversal in the results name', 'POST', '/api/results/..%2f..%2fsettings', jh(**{'Content-Length': 2}), b'{}', 404, True),
        ('hidden results name', 'POST', '/api/results/.x', jh(**{'Content-Length': 2}), b'{}', 404, True),
        *[(f'GET {p}', 'GET', p, {'Host': own}, b'', 404, False) for p in (
            '/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/models/../../../../etc/passwd', '/..%2f..%2fsettings.ini',
            '//etc/passwd', '/lib/../../settings.ini', '/lib/playwright-core/package.json', '/models/%00manifest.json',
            '/models/work/pass1_256/job.json', '/models/work/pass1_256/convert.log', '/models/work/pass1_256/tf_outputs/heatmaps.npy',
            '/models/pass1_256/../work/pass1_256/job.json', '/models/pass1_256/%2e%2e/work/pass1_256/job.json')],
    ]


def test_hostile_requests(server):
    port, results, pid, _ = server
    before = {p.name: p.read_bytes() for p in results.iterdir()}
    rows = []
    for what, method, path, headers, body, want, closed in hostile_table(port):
        got, was_closed = request(port, method, path, headers, body)
        rows.append((what, got, was_closed))
        assert got == want, f'{what}: HTTP {got}, expected {want}'
        assert was_closed == closed, f'{what}: connection {"closed" if was_closed else "kept open"}, expected {"closed" if closed else "open"}'
    print('\n'.join(f'{w:50s} {s}{" (closed)" if c else ""}' for w, s, c in rows))
    # nothing was written or overwritten, and the server still answers
    assert {p.name: p.read_bytes() for p in results.iterdir()} == before
    assert request(port, 'GET', '/', {'Host': f'127.0.0.1:{port}'})[0] == 200


def test_250_mb_body_is_refused_before_it_is_read(server):
    port, results, pid, _ = server
    rss0 = rss_mb(pid)
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    n = 250 * MB
    s.sendall(f'POST /api/results/big HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n\r\n'.encode())
    sent = [0]
    def pump():   # keep sending the body until the server hangs up
        chunk = b' ' * MB
        try:
            while sent[0] < n: s.sendall(chunk); sent[0] += len(chunk)
        except OSError: pass
    t = threading.Thread(target=pump, daemon=True); t.start()
    status, headers, _ = read_response(s)
    t.join(30)
    s.close()
    assert status == 413 and headers.get('connection') == 'close', (status, headers)
    assert sent[0] < 64 * MB, f'{sent[0] / MB:.0f} MB went through before the server hung up'
    assert rss_mb(pid) - rss0 < 20, (rss0, rss_mb(pid))
    assert not (results/'big.json').exists()
    assert request(port, 'GET', '/', {'Host': f'127.0.0.1:{port}'})[0] == 200


def test_keep_alive_after_413_cannot_smuggle_a_request(server):
    "An unread body must not be parsed as the next request: the server closes the connection after refusing it."
    port, results, pid, _ = server
    smuggled = (f'POST /api/results/smuggled HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n'
                f'Content-Length: 2\r\n\r\n{{}}').encode()
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(f'POST /api/results/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n'
              f'Content-Length: {64 * MB}\r\n\r\n'.encode() + smuggled)
    status, _, _ = read_response(s)
    assert status == 413
    try: rest = s.recv(65536)
    except ConnectionResetError: rest = b''
    s.close()
    assert rest == b'', rest[:200]              # no second response
    assert not (results/'smuggled.json').exists()


def test_same_origin_post_and_published_models(server):
    "What the page does is still allowed: same-origin JSON POST, keep-alive GETs of the published files."
    port, results, pid, models = server
    own = f'127.0.0.1:{port}'
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    for path in ('/', '/models/manifest.json', '/models/pass1_256/model.json', '/models/pass1_256/group1-shard1of1.bin', '/models/pass1.onnx', '/lib/tf.min.js'):
        s.sendall(f'GET {path} HTTP/1.1\r\nHost: {own}\r\n\r\n'.encode())
        status, headers, _ = read_response(s)
        assert status == 200, path
        assert headers['cross-origin-opener-policy'] == 'same-origin' and headers['cross-origin-embedder-policy'] == 'require-corp'
    body = b'{"summary": {"frames": 3}}'
    s.sendall(f'POST /api/results/ok_run HTTP/1.1\r\nHost: {own}\r\nOrigin: http://{own}\r\nContent-Type: application/json; charset=utf-8\r\n'
              f'Content-Length: {len(body)}\r\n\r\n'.encode() + body)
    assert read_response(s)[0] == 200
    s.close()
    assert json.loads((results/'ok_run.json').read_text()) == {'summary': {'frames': 3}}
    (results/'ok_run.json').unlink()
