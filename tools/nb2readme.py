"Write README.md from nbs/index.ipynb: markdown cells as they are, code cells as fenced Python (no outputs, so it is deterministic)."
import json, pathlib, sys

root = pathlib.Path(__file__).resolve().parent.parent
nb = json.loads((root/'nbs'/'index.ipynb').read_text(encoding='utf-8'))
parts = []
for cell in nb['cells']:
    src = ''.join(cell['source']).strip('\n')
    if not src or src.startswith('#| hide'): continue
    if cell['cell_type'] == 'markdown': parts.append(src)
    elif cell['cell_type'] == 'code': parts.append(f'```python\n{src}\n```')
text = '<!-- Generated from nbs/index.ipynb by tools/nb2readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'
out = root/'README.md'
if not out.exists() or out.read_text(encoding='utf-8') != text:
    tmp = out.with_suffix('.md.tmp'); tmp.write_text(text, encoding='utf-8'); tmp.replace(out)
