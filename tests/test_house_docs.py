"""The documentation site, as a reader sees it: Chromium opens a gaze, a pupil and a nails page of `_docs/` and
finds a plot drawn by the executed notebook and a code example on each, then the API reference. The site is
what `make test` (or `make docs`) built from the executed notebooks; built here from `_proc/` when missing."""
import json, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

pytestmark = pytest.mark.needs('chromium')
DOCS, PROC = ROOT/'_docs', ROOT/'_proc'
PREFER = {'gaze': ['gaze.synth.html', 'gaze.data.html'], 'pupil': ['pupil.process.html'], 'nails': ['nails.synth.html']}

@pytest.fixture(scope='module')
def site():
    if not (DOCS/'site.json').exists():
        if not list(PROC.glob('*.ipynb')): pytest.skip('no executed notebooks in _proc/: run make docs')
        subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py')], check=True, cwd=ROOT)
    return json.loads((DOCS/'site.json').read_text())

def pillar_page(site:dict, pillar:str)->str:
    "The pillar's page to open: a preferred one with a plot, else any executed page of the pillar with one."
    with_images = {p['page'] for p in site['pages'] if p['images'] and p['ok']}
    for page in PREFER[pillar] + sorted(p['page'] for p in site['pages'] if p['page'].startswith(pillar + '.')):
        if page in with_images: return page
    pytest.fail(f'no executed {pillar} page with a plot in _docs/ (pages: {[p["page"] for p in site["pages"]]})')

@pytest.fixture(scope='module')
def browser():
    from playwright.sync_api import sync_playwright
    from vtlab.sysdeps import require
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=require('chromium'), headless=True, args=['--no-sandbox', '--disable-gpu'])
        yield b
        b.close()

@pytest.mark.parametrize('pillar', ['gaze', 'pupil', 'nails'])
def test_pillar_page_shows_a_plot_and_code(site, browser, pillar):
    page = browser.new_page(viewport=dict(width=1280, height=900))
    name = pillar_page(site, pillar)
    page.goto((DOCS/name).as_uri()); page.wait_for_load_state('load')
    assert page.locator('h1.title').is_visible() and page.locator('nav.sidebar a.current').inner_text().strip()
    plot = page.locator('.output_area img').first
    plot.scroll_into_view_if_needed()
    assert plot.is_visible() and plot.evaluate('i => i.complete && i.naturalWidth') > 100, f'{name}: plot not loaded'
    box = plot.bounding_box(); assert box['width'] > 100 and box['height'] > 50, box
    code = page.locator('.input_area pre').first
    code.scroll_into_view_if_needed()
    assert code.is_visible() and len(code.inner_text().strip()) > 10, f'{name}: no code example'
    assert page.locator('.ran').first.is_visible(), f'{name}: not marked as executed'
    if pillar == 'gaze':
        page.evaluate('window.scrollTo(0, 0)'); plot.scroll_into_view_if_needed()
        page.screenshot(path=str(DOCS/'screenshot.png'))   # copied to nbs/images/docs_site.png for the README
    page.close()

def test_api_reference(site, browser):
    assert site['api_items'] > 100 and 'vtlab.core' in site['api_modules']
    page = browser.new_page()
    page.goto((DOCS/'api.html').as_uri() + '#vtlab.core.project_root')
    item = page.locator('[id="vtlab.core.project_root"]')
    assert item.is_visible() and 'def project_root(' in item.locator('.api-sig').inner_text()
    assert 'folder to search upwards from' in item.inner_text()     # its docments
    item.locator('a.api-src').click(); page.wait_for_load_state('load')
    assert page.url.endswith('core.html') and 'project_root' in page.content()
    page.close()
