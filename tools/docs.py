#!/usr/bin/env python3
"""Render vtlab's documentation site: every executed notebook, with its outputs and plots, and an API reference.

usage: tools/docs.py [--proc _proc] [--out _docs]      (what `make docs` and `make test` run, after tools/nbrun.py)

Offline and from registry packages only (mistune for Markdown, Pygments for code: what nbconvert uses, without
its per-cell HTML sanitising, which made a site of 45 notebooks take minutes): each executed copy in `_proc/`
(written by tools/nbrun.py; cells nbdev hides stay hidden, `#|` directives are dropped, plots are written beside
the page as PNG files) becomes one page, with a sidebar of the notebooks by pillar.
The API reference is read from the source of `vtlab/` with `ast` (nothing is imported, so it needs no
optional dependency): each module's `__all__`, signatures with their docments (the comment beside each
parameter), docstrings, the public methods of each class (`@patch`ed ones included), and a link to the
notebook that defines it. A notebook without an executed copy is rendered from its source, marked so, and a
copy whose run failed carries a banner; `--strict` turns both into an error. Page names follow nbdev's
(`10_gaze.geometry.ipynb` -> `gaze.geometry.html`), so the links in `vtlab/_modidx.py` point at these pages.
"""
from __future__ import annotations
import argparse, ast, html, json, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = [('0', 'Core and shared modules'), ('1', 'vtlab.gaze: screen gaze'), ('2', 'vtlab.pupil: Pupil Labs recorder'),
            ('3', 'vtlab.nails: nail AR')]
HIDDEN_TAGS = {'hide', 'default_exp', 'exporti_hide'}
_DIRECTIVE_LINE = re.compile(r'^\s*#\s*\|.*\n?', re.M)

def page_name(nb:Path|str)->str:
    "nbdev's page name for a notebook: the numeric prefix dropped, `.html` (`05a_vision.crops` -> `vision.crops.html`)."
    stem = Path(nb).stem
    return re.sub(r'^\d+[a-z]?_', '', stem) + '.html'

def _frontmatter(nb)->dict:
    "Title and description from nbdev's front-matter raw cell (removed from the notebook), or its title cell."
    import yaml
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'raw' and c.source.lstrip().startswith('---'):
            nb.cells.pop(i)
            return yaml.safe_load(c.source.strip().strip('-')) or {}
        if c.cell_type == 'markdown' and c.source.lstrip().startswith('# '):  # an unprocessed notebook: its title cell
            lines = c.source.strip().splitlines()
            nb.cells.pop(i)
            desc = ' '.join(l.lstrip('> ').strip() for l in lines[1:] if l.startswith('>'))
            rest = '\n'.join(l for l in lines[1:] if not l.startswith('>')).strip()
            if rest: nb.cells.insert(i, type(c)(cell_type='markdown', source=rest, metadata={}, id=c.get('id', 'x')))
            return dict(title=lines[0][2:].strip(), description=desc)
        break
    return {}

def _clean(nb)->None:
    "Drop the cells nbdev hides and the `#|` directive lines of the others."
    keep = []
    for c in nb.cells:
        tags = set(c.get('metadata', {}).get('tags', []))
        if tags & HIDDEN_TAGS: continue
        if c.cell_type == 'code':
            src = c.source
            if re.match(r'^\s*#\s*\|\s*(default_exp|hide)\b', src): continue
            c.source = _DIRECTIVE_LINE.sub('', src).strip('\n')
            if not c.source and not c.get('outputs'): continue
        keep.append(c)
    nb.cells = keep

_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')

class _Renderer:
    "Notebook cells to HTML: mistune for Markdown, Pygments for code, outputs by their richest safe MIME type."
    def __init__(self, out_dir:Path|None=None):
        import mistune
        self.out_dir = out_dir  # where linked pictures are copied (None: links left as they are)
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer, get_lexer_by_name
        from pygments.util import ClassNotFound
        self.fmt, self.py = HtmlFormatter(cssclass='highlight'), PythonLexer()
        def lexer(lang):
            try: return get_lexer_by_name(lang) if lang else None
            except ClassNotFound: return None
        outer = self
        class HTML(mistune.HTMLRenderer):
            def block_code(self, code, info=None):
                lx = lexer((info or '').split()[0] if info else '')
                return outer.highlight(code, lx) if lx else f'<pre><code>{html.escape(code)}</code></pre>\n'
            def image(self, text, url, title=None):
                return super().image(text, outer.asset(url), title)
        self.md = mistune.create_markdown(renderer=HTML(escape=False), plugins=['table', 'strikethrough', 'url'])

    def asset(self, url:str)->str:
        "A picture a Markdown cell links to by a relative path (from nbs/ or the repository root), copied into the site."
        if self.out_dir is None or re.match(r'^[a-z]+:|^/|^#', url): return url
        for base in (ROOT/'nbs', ROOT):
            src = (base/url).resolve()
            if src.is_file() and src.is_relative_to(ROOT):
                dest = self.out_dir/'images'/src.name
                dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(src, dest)
                return f'images/{src.name}'
        return url

    def highlight(self, code:str, lexer=None)->str:
        from pygments import highlight
        return highlight(code, lexer or self.py, self.fmt)

    def output(self, o:dict, images:list, out_dir:Path, stem:str)->str:
        kind = o.get('output_type')
        if kind == 'stream':
            return f'<div class="output_area output_{o.get("name", "stdout")}"><pre>{html.escape(_ANSI.sub("", "".join(o.get("text", ""))))}</pre></div>'
        if kind == 'error':
            tb = _ANSI.sub('', '\n'.join(o.get('traceback', [])) or f"{o.get('ename')}: {o.get('evalue')}")
            return f'<div class="output_area output_error"><pre>{html.escape(tb)}</pre></div>'
        data = o.get('data', {})
        for mime, ext in (('image/png', 'png'), ('image/jpeg', 'jpg'), ('image/gif', 'gif')):
            if mime in data:
                import base64
                name = f'{stem}_files/output_{len(images)}.{ext}'
                (out_dir/name).parent.mkdir(parents=True, exist_ok=True)
                (out_dir/name).write_bytes(base64.b64decode(''.join(data[mime])))
                images.append(name)
                return f'<div class="output_area"><img src="{name}" alt="a plot or image the cell above drew"></div>'
        if 'application/vnd.jupyter.widget-view+json' in data:
            return '<div class="output_area"><p><em>An interactive widget: it works when the notebook runs in JupyterLab.</em></p></div>'
        if 'image/svg+xml' in data: return f'<div class="output_area">{"".join(data["image/svg+xml"])}</div>'
        if 'text/html' in data: return f'<div class="output_area output_html">{"".join(data["text/html"])}</div>'
        if 'text/markdown' in data: return f'<div class="output_area output_markdown">{self.md("".join(data["text/markdown"]))}</div>'
        if 'text/plain' in data: return f'<div class="output_area"><pre>{html.escape(_ANSI.sub("", "".join(data["text/plain"])))}</pre></div>'
        return ''

    def cells(self, nb, out_dir:Path, stem:str)->tuple[str, list[str]]:
        out, images = [], []
        for c in nb.cells:
            if c.cell_type == 'markdown': out.append(f'<div class="cell text_cell">{self.md(c.source)}</div>')
            elif c.cell_type == 'code':
                tags = set(c.get('metadata', {}).get('tags', []))
                parts = [] if 'remove_input' in tags else [f'<div class="input_area">{self.highlight(c.source)}</div>']
                if 'remove_output' not in tags: parts += [self.output(o, images, out_dir, stem) for o in c.get('outputs', [])]
                out.append('<div class="cell code_cell">' + ''.join(parts) + '</div>')
        return '\n'.join(out), images

def render_notebook(path:Path, out_dir:Path, renderer:_Renderer)->dict:
    "Render one notebook (executed copy or source) into `out_dir`; the page's facts for the sidebar and index."
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    run = nb.metadata.get('vtlab_nbrun')
    fm = _frontmatter(nb)
    _clean(nb)
    name = page_name(path)
    body, images = renderer.cells(nb, out_dir, name.removesuffix('.html'))
    return dict(page=name, title=str(fm.get('title') or Path(path).stem), description=str(fm.get('description') or ''),
                body=body, run=run, images=images, notebook=(run or {}).get('notebook') or f'nbs/{path.name}')

def _status(p:dict)->str:
    "The line under a page's title: when and how long it ran, or why it shows no outputs."
    r = p['run']
    if r is None: return '<p class="banner warn">This page was rendered from the notebook\'s source: it has not been executed here (run <code>make docs</code>).</p>'
    flags = ', '.join(r.get('skip_flags', [])) or 'none'
    if not r.get('ok'):
        return (f'<p class="banner fail">This notebook failed when it was executed on {r["finished"]}: the page ends at the '
                f'failing cell, whose error is its output.</p>')
    return f'<p class="ran">Executed on {r["finished"]} in {r["seconds"]:.0f} s (cells flagged {html.escape(flags)} skipped), from <code>{html.escape(p["notebook"])}</code>.</p>'

def _sidebar(pages:list[dict], current:str)->str:
    "The navigation: the tour, then the notebooks by pillar, then the API reference."
    def link(page, title):
        cls = ' class="current"' if page == current else ''
        return f'<li><a href="{page}"{cls}>{html.escape(title)}</a></li>'
    out = ['<nav class="sidebar"><a class="brand" href="index.html">vtlab</a><ul>', link('index.html', 'Overview')]
    for prefix, label in SECTIONS:
        group = [p for p in pages if re.match(rf'^{prefix}\d', Path(p['notebook']).name)]
        if group: out += [f'<li class="section">{html.escape(label)}</li>'] + [link(p['page'], p['title']) for p in group]
    out += ['<li class="section">Reference</li>', link('api.html', 'API reference'), '</ul></nav>']
    return '\n'.join(out)

PAGE = '''<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - vtlab</title><link rel="stylesheet" href="style.css"></head>
<body>{sidebar}
<main><header><h1 class="title">{title}</h1>{description}{status}</header>
{body}
</main></body></html>
'''

CSS = '''
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2328; }
.sidebar { position: fixed; top: 0; bottom: 0; left: 0; width: 250px; overflow-y: auto; background: #f6f8fa;
           border-right: 1px solid #d0d7de; padding: 16px 12px; box-sizing: border-box; font-size: 14px; }
.sidebar .brand { font-weight: 700; font-size: 20px; color: #1f2328; text-decoration: none; }
.sidebar ul { list-style: none; padding: 0; margin: 12px 0; }
.sidebar li { margin: 1px 0; } .sidebar li.section { margin-top: 14px; font-weight: 600; color: #57606a; font-size: 12px;
           text-transform: uppercase; letter-spacing: .04em; }
.sidebar a { color: #0969da; text-decoration: none; display: block; padding: 1px 6px; border-radius: 4px; }
.sidebar a.current { background: #ddf4ff; font-weight: 600; }
main { margin-left: 250px; padding: 24px 40px 80px; max-width: 1100px; }
h1.title { margin-bottom: 4px; } p.description { font-size: 17px; color: #57606a; margin-top: 0; }
p.ran { font-size: 12px; color: #57606a; } .banner { padding: 8px 12px; border-radius: 6px; }
.banner.fail { background: #ffebe9; border: 1px solid #ff8182; } .banner.warn { background: #fff8c5; border: 1px solid #d4a72c; }
code { background: #eff1f3; padding: 1px 4px; border-radius: 4px; font-size: 90%; }
pre { font-size: 13px; line-height: 1.45; overflow-x: auto; margin: 0; }
.cell { margin: 10px 0; } .input_area { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; }
.input_area pre code, .highlight pre { background: none; padding: 0; }
.output_area { padding: 4px 12px; border-left: 3px solid #d0d7de; margin-top: 4px; overflow-x: auto; }
.output_area img { max-width: 100%; height: auto; } .output_stderr { background: #fff8f8; }
.output_area pre { white-space: pre-wrap; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
.api-item { border-top: 1px solid #d0d7de; padding: 8px 0; } .api-sig { font-family: ui-monospace, Menlo, monospace; font-size: 13px;
           background: #f6f8fa; padding: 6px 10px; border-radius: 6px; white-space: pre-wrap; }
.api-params td { font-size: 13px; vertical-align: top; } .api-method { margin-left: 24px; } .api-src { font-size: 12px; }
'''

def write_page(out_dir:Path, page:str, title:str, body:str, pages:list[dict], description:str='', status:str='')->Path:
    "One page of the site, with the sidebar."
    desc = f'<p class="description">{html.escape(description)}</p>' if description else ''
    path = out_dir/page
    path.write_text(PAGE.format(title=html.escape(title), description=desc, status=status, body=body,
                                sidebar=_sidebar(pages, page)), encoding='utf-8')
    return path

# ---- API reference, read from vtlab/ with ast ----

def _md(text:str)->str:
    "Markdown (backticks, emphasis, links) in a docstring or comment, as HTML."
    import mistune
    return mistune.html(text or '') if text else ''

def _comments(src:str)->dict[int, str]:
    "Line number -> the comment that ends that line."
    import io, tokenize
    out = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.COMMENT: out[tok.start[0]] = tok.string.lstrip('#').strip()
    except (tokenize.TokenError, IndentationError): pass
    return out

def _params(node:ast.FunctionDef, comments:dict)->list[tuple[str, str, str]]:
    "(name, annotation and default, docment) for each parameter documented on its own line, plus the return."
    a = node.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    rows, lines_used = [], {}
    items = list(zip(positional, defaults)) + [(x, d) for x, d in zip(a.kwonlyargs, a.kw_defaults)]
    items += [(x, None) for x in (a.vararg, a.kwarg) if x]
    for arg, _ in items: lines_used[arg.lineno] = lines_used.get(arg.lineno, 0) + 1
    for arg, default in items:
        if arg.arg in ('self', 'cls') or lines_used[arg.lineno] > 1 or arg.lineno == node.lineno: continue
        doc = comments.get(arg.lineno, '')
        if not doc: continue
        ann = ast.unparse(arg.annotation) if arg.annotation is not None else ''
        rows.append((arg.arg, ann + (f' = {ast.unparse(default)}' if default is not None else ''), doc))
    if node.returns is not None and node.returns.lineno != node.lineno and comments.get(node.returns.lineno):
        rows.append(('returns', ast.unparse(node.returns), comments[node.returns.lineno]))
    return rows

def _signature(node, name:str|None=None)->str:
    prefix = 'async def ' if isinstance(node, ast.AsyncFunctionDef) else 'def '
    ret = f' -> {ast.unparse(node.returns)}' if node.returns is not None else ''
    return f'{prefix}{name or node.name}({ast.unparse(node.args)}){ret}'

def _patch_target(node)->tuple[str, bool]|None:
    "(class name, is_classmethod) when `node` is a `@patch`ed method, else None."
    for d in node.decorator_list:
        f = d.func if isinstance(d, ast.Call) else d
        if isinstance(f, ast.Name) and f.id == 'patch':
            first = (node.args.posonlyargs + node.args.args)[:1]
            if first and first[0].annotation is not None:
                cm = isinstance(d, ast.Call) and any(k.arg == 'cls_method' and getattr(k.value, 'value', False) for k in d.keywords)
                return ast.unparse(first[0].annotation).strip('\'"'), cm
    return None

def _source_nb(lines:list[str], lineno:int)->str|None:
    "The notebook a definition comes from: the nearest `# %% ../nbs/X.ipynb` marker above it."
    for l in reversed(lines[:lineno]):
        m = re.match(r'#\s*%%\s+(?:\.\./)+nbs/(\S+\.ipynb)', l)
        if m: return m.group(1)
    return None

def module_api(path:Path, lib:Path)->dict:
    "A module's public API from its source: name, docstring, and its `__all__` items with methods and docments."
    src = path.read_text(encoding='utf-8')
    tree, lines, comments = ast.parse(src), src.splitlines(), _comments(src)
    mod = '.'.join(path.relative_to(lib.parent).with_suffix('').parts)
    names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, 'id', '') == '__all__' for t in n.targets)), [])
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    patched = {}
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and not n.name.startswith('_') and (t := _patch_target(n)):
            patched.setdefault(t[0], []).append((n, t[1]))
    def fn_item(n, owner=None, cm=False):
        start = n.decorator_list[0].lineno if n.decorator_list else n.lineno
        return dict(kind='classmethod' if cm or any(getattr(d, 'id', '') == 'classmethod' for d in n.decorator_list) else
                    'property' if any(getattr(d, 'id', '') == 'property' for d in n.decorator_list) else 'function',
                    name=n.name, signature=_signature(n), doc=ast.get_docstring(n) or '', params=_params(n, comments),
                    notebook=_source_nb(lines, start))
    items = []
    for name in names:
        n = defs.get(name)
        if isinstance(n, ast.ClassDef):
            init = next((m for m in n.body if isinstance(m, ast.FunctionDef) and m.name == '__init__'), None)
            fields = [(ast.unparse(s.target), ast.unparse(s.annotation) + (f' = {ast.unparse(s.value)}' if s.value else ''),
                       comments.get(s.lineno, '')) for s in n.body if isinstance(s, ast.AnnAssign)]
            methods = [fn_item(m) for m in n.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith('_')]
            methods += [fn_item(m, cm=cm) for m, cm in patched.get(name, [])]
            items.append(dict(kind='class', name=name, doc=ast.get_docstring(n) or '', methods=methods,
                              bases=[ast.unparse(b) for b in n.bases], notebook=_source_nb(lines, n.lineno),
                              signature=f'class {name}(' + (ast.unparse(init.args).removeprefix('self, ').removeprefix('self') if init else
                                                           ', '.join(f for f, _, _ in fields)) + ')',
                              params=(_params(init, comments) if init else []) or [f for f in fields if f[2]]))
        elif n is not None: items.append(fn_item(n))
        else: items.append(_constant(tree, name, lines, comments))
    doc = ast.get_docstring(tree) or ''
    first_nb = re.search(r'File to edit: (?:\.\./)+nbs/(\S+\.ipynb)', src)
    return dict(module=mod, doc=doc, items=items, notebook=first_nb.group(1) if first_nb else None)

def _constant(tree:ast.Module, name:str, lines:list[str], comments:dict)->dict:
    "A module-level name of `__all__` that is not a def or class: its annotation, its value when short, its comment."
    for n in tree.body:
        targets = n.targets if isinstance(n, ast.Assign) else [n.target] if isinstance(n, ast.AnnAssign) else []
        if any(getattr(t, 'id', None) == name for t in targets):
            ann = f': {ast.unparse(n.annotation)}' if isinstance(n, ast.AnnAssign) else ''
            value = ast.unparse(n.value) if n.value is not None else ''
            sig = name + ann + (f' = {value}' if value and len(value) <= 160 else '')
            return dict(kind='constant', name=name, doc=comments.get(n.lineno, ''), signature=sig, params=[],
                        notebook=_source_nb(lines, n.lineno))
    return dict(kind='name', name=name, doc='', signature=name, params=[], notebook=None)

def _api_item(it:dict, anchor:str, method:bool=False)->str:
    params = ''.join(f'<tr><td><code>{html.escape(n)}</code></td><td><code>{html.escape(t)}</code></td><td>{_md(d)}</td></tr>'
                     for n, t, d in it['params'])
    src = f' <a class="api-src" href="{page_name(it["notebook"])}">(notebook)</a>' if it.get('notebook') else ''
    out = [f'<div class="api-item{" api-method" if method else ""}" id="{html.escape(anchor)}">',
           f'<h{4 if method else 3}><code>{html.escape(it["name"])}</code> <small>{it["kind"]}</small>{src}</h{4 if method else 3}>',
           f'<div class="api-sig">{html.escape(it["signature"])}</div>', _md(it['doc'])]
    if params: out.append(f'<table class="api-params">{params}</table>')
    out += [_api_item(m, f'{anchor}.{m["name"]}', True) for m in it.get('methods', [])]
    return '\n'.join(out) + '</div>'

def api_reference(lib:Path)->tuple[str, list[dict]]:
    "The API page's body, and the modules it lists."
    mods = [module_api(p, lib) for p in sorted(lib.rglob('*.py')) if p.name not in ('_modidx.py', '__init__.py')]
    mods = [m for m in mods if m['items']]
    mods.sort(key=lambda m: (m['notebook'] or 'zz', m['module']))
    toc = ['<p>Every public function, class and method of the <code>vtlab</code> package, read from its source; '
           'each links to the notebook that defines, shows and tests it.</p><ul class="api-toc">']
    toc += [f'<li><a href="#{m["module"]}"><code>{m["module"]}</code></a>: {html.escape(m["doc"].splitlines()[0] if m["doc"] else "")}</li>' for m in mods]
    body = ['\n'.join(toc) + '</ul>']
    for m in mods:
        link = f' <a class="api-src" href="{page_name(m["notebook"])}">(notebook)</a>' if m['notebook'] else ''
        body.append(f'<h2 id="{m["module"]}"><code>{m["module"]}</code>{link}</h2>{_md(m["doc"])}')
        body += [_api_item(it, f'{m["module"]}.{it["name"]}') for it in m['items']]
    return '\n'.join(body), mods

def _index_extra(pages:list[dict])->str:
    "The overview's list of every notebook page by pillar, with its one-line description."
    out = ['<h2 id="the-notebooks">The notebooks</h2>',
           '<p>Each page is a notebook of <code>nbs/</code> as the tests last executed it: code, outputs and plots. '
           'The <a href="api.html">API reference</a> lists every public function and class.</p>']
    for prefix, label in SECTIONS:
        group = [p for p in pages if re.match(rf'^{prefix}\d', Path(p['notebook']).name)]
        if not group: continue
        out.append(f'<h3>{html.escape(label)}</h3><ul>')
        out += [f'<li><a href="{p["page"]}">{html.escape(p["title"])}</a>: {html.escape(p["description"])}</li>' for p in group]
        out.append('</ul>')
    return '\n'.join(out)

def build_site(proc:Path, out:Path, nbs:Path, lib:Path)->dict:
    "Render every notebook (its executed copy when there is one), the API reference and the stylesheet into `out`."
    sys.path.insert(0, str(Path(__file__).parent))
    from nbrun import notebooks
    from pygments.formatters import HtmlFormatter
    tmp = out.with_name(out.name + '.tmp'); shutil.rmtree(tmp, ignore_errors=True); tmp.mkdir(parents=True)
    renderer = _Renderer(tmp)
    pages = []
    for nb in notebooks(nbs):
        copy = proc/nb.relative_to(nbs)
        p = render_notebook(copy if copy.exists() else nb, tmp, renderer)
        p['notebook'] = str(nb.relative_to(nbs.parent))
        pages.append(p)
    index = next((p for p in pages if p['page'] == 'index.html'), None)
    listed = [p for p in pages if p is not index]
    for p in listed: write_page(tmp, p['page'], p['title'], p['body'], listed, p['description'], _status(p))
    write_page(tmp, 'index.html', index['title'] if index else 'vtlab', (index['body'] if index else '') + _index_extra(listed),
               listed, index['description'] if index else '', _status(index) if index else '')
    api_body, mods = api_reference(lib)
    write_page(tmp, 'api.html', 'API reference', api_body, listed, 'The public functions, classes and methods of vtlab.')
    (tmp/'style.css').write_text(CSS + HtmlFormatter(style='default').get_style_defs('.highlight'), encoding='utf-8')
    site = dict(built=time.strftime('%Y-%m-%d %H:%M:%S'), api_modules=[m['module'] for m in mods],
                api_items=sum(len(m['items']) for m in mods),
                pages=[dict(page=p['page'], title=p['title'], notebook=p['notebook'], images=p['images'],
                            executed=p['run'] is not None, ok=bool(p['run'] and p['run'].get('ok'))) for p in pages])
    (tmp/'site.json').write_text(json.dumps(site, indent=1), encoding='utf-8')
    old = out.with_name(out.name + '.old'); shutil.rmtree(old, ignore_errors=True)
    if out.exists(): out.rename(old)
    tmp.rename(out); shutil.rmtree(old, ignore_errors=True)
    return site

def main(argv:list[str]|None=None)->int:
    p = argparse.ArgumentParser(prog='docs', description=__doc__.split('\n\n')[0])
    p.add_argument('--proc', type=Path, default=ROOT/'_proc', help='executed copies (tools/nbrun.py)')
    p.add_argument('--out', type=Path, default=ROOT/'_docs', help='the site')
    p.add_argument('--strict', action='store_true', help='fail when a notebook has no passing executed copy')
    args = p.parse_args(argv)
    t0 = time.time()
    site = build_site(args.proc, args.out, ROOT/'nbs', ROOT/'vtlab')
    pages = site['pages']
    failed = [q['notebook'] for q in pages if q['executed'] and not q['ok']]
    unexecuted = [q['notebook'] for q in pages if not q['executed']]
    size = sum(f.stat().st_size for f in args.out.rglob('*') if f.is_file())
    print(f'docs: {len(pages)} notebook pages ({len(pages) - len(failed) - len(unexecuted)} executed and passing, '
          f'{len(failed)} failed, {len(unexecuted)} not executed), API reference of {site["api_items"]} items in '
          f'{len(site["api_modules"])} modules -> {args.out}/index.html ({size / 2**20:.1f} MB) in {time.time() - t0:.0f} s')
    for what, lst in (('failed when executed', failed), ('not executed (no copy in _proc/)', unexecuted)):
        if lst: print(f'docs: {what}: ' + ', '.join(lst))
    return 1 if args.strict and (failed or unexecuted) else 0

if __name__ == '__main__': sys.exit(main())
