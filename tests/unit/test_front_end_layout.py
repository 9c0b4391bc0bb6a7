"""The layout of static/js: templates load entry modules from pages/, which import from lib/.

pages/ holds one entry module per page (or layout) that a template loads with
``<script type="module">``; lib/ holds what they share (the API client, the outbox, the device
store, drafts, the session engine in lib/session/). A template never loads a lib/ module, lib/
never imports a page, and a page is imported by no other module, with one deliberate exception:
the offline shells (pages/offline-pages.js) fill in a page's markup from the device store and
then run that page's own script, so an offline page behaves as the online one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
JS = ROOT / "static" / "js"
PAGES = JS / "pages"
LIB = JS / "lib"

#: A module script a template loads: <script type="module" src="{{ url_for('static', ...) }}">.
MODULE_SCRIPT = re.compile(
    r"""<script\b[^>]*\btype="module"[^>]*\bsrc="\{\{\s*url_for\(\s*'static',\s*"""
    r"""filename='(js/[^']+)'\s*\)\s*\}\}"""
)
#: Any <script src> naming a static file, module or not.
ANY_STATIC_SCRIPT = re.compile(r"""<script\b[^>]*\bsrc="[^"]*filename='(js/[^']+)'""")
#: Relative imports: static (``import x from './a.js'``, ``import './a.js'``) and dynamic.
STATIC_IMPORT = re.compile(
    r"""^\s*(?:import\b(?!\s*\()[^;'"]*?|export\b[^;'"]*?\bfrom\s*)['"](\.{1,2}/[^'"]+)['"]""", re.M
)
DYNAMIC_IMPORT = re.compile(r"""\bimport\(\s*['"](\.{1,2}/[^'"]+)['"]\s*\)""")
#: Pages the offline shells run after filling in their markup (see the module docstring).
PAGES_RUN_BY_THE_OFFLINE_SHELLS = {
    ("pages/offline-pages.js", "pages/prepare.js"),
    ("pages/offline-pages.js", "pages/integration.js"),
    # Start session opens session mode in the same document, so the tap that unlocked the
    # audio still counts (a new page would need a second tap on iOS): prepare.js runs the
    # session-mode page's script once its markup is swapped in.
    ("pages/prepare.js", "pages/session-mode.js"),
}


def _templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.html"))


def _modules() -> list[Path]:
    return sorted(JS.rglob("*.js"))


def _name(path: Path) -> str:
    return path.relative_to(JS).as_posix()


def _imports(module: Path) -> list[tuple[str, bool]]:
    """(imported module under static/js, whether the import is dynamic) for each relative import."""
    source = module.read_text()
    found = [(target, False) for target in STATIC_IMPORT.findall(source)]
    found += [(target, True) for target in DYNAMIC_IMPORT.findall(source)]
    return [(_name((module.parent / target).resolve()), dynamic) for target, dynamic in found]


def _loaded_by_templates() -> dict[str, list[str]]:
    """static/js file → the templates whose <script> tags load it."""
    loaded: dict[str, list[str]] = {}
    for template in _templates():
        for filename in ANY_STATIC_SCRIPT.findall(template.read_text()):
            loaded.setdefault(filename.removeprefix("js/"), []).append(
                template.relative_to(TEMPLATES).as_posix()
            )
    return loaded


def test_the_patterns_find_what_they_look_for():
    """The checks below mean something: templates load modules and modules import others."""
    assert len(_loaded_by_templates()) >= 10
    assert sum(len(_imports(m)) for m in _modules()) > 40
    assert ("lib/session/soundscape.js", True) in _imports(LIB / "offline.js")


def test_static_js_holds_only_pages_and_lib():
    """Nothing loose at the top of static/js: every module is an entry page or shared code."""
    assert {p.name for p in JS.iterdir()} == {"pages", "lib"}
    assert not [p for p in PAGES.iterdir() if not (p.is_file() and p.suffix == ".js")]


@pytest.mark.parametrize(
    "template", _templates(), ids=lambda p: p.relative_to(TEMPLATES).as_posix()
)
def test_templates_load_only_existing_page_modules(template):
    """Every script a template loads is an ES module in static/js/pages/ that exists."""
    html = template.read_text()
    scripts = ANY_STATIC_SCRIPT.findall(html)
    assert scripts == MODULE_SCRIPT.findall(html), "a static script that is not type=module"
    for filename in scripts:
        assert filename.startswith("js/pages/"), f"{filename}: templates load pages/, never lib/"
        assert (JS.parent / filename).is_file(), f"{filename} does not exist"


def test_every_page_module_is_loaded_by_a_template():
    """A module in pages/ that no template loads is dead, or shared code in the wrong place."""
    loaded = _loaded_by_templates()
    orphans = [_name(p) for p in PAGES.glob("*.js") if _name(p) not in loaded]
    assert not orphans


def test_every_relative_import_resolves_to_a_module():
    """Moving a file cannot leave an import pointing at nothing."""
    for module in _modules():
        for target, _ in _imports(module):
            assert (JS / target).is_file(), (
                f"{_name(module)} imports {target}, which does not exist"
            )


def test_lib_never_imports_a_page():
    """Shared code depends on nothing page-specific: lib/ imports lib/ only."""
    for module in LIB.rglob("*.js"):
        for target, _ in _imports(module):
            assert target.startswith("lib/"), f"{_name(module)} imports the page {target}"


def test_a_page_is_imported_only_by_the_offline_shells():
    """No module imports a page, except the offline shells running a page's own script, lazily."""
    found = set()
    for module in _modules():
        for target, dynamic in _imports(module):
            if target.startswith("pages/"):
                edge = (_name(module), target)
                assert edge in PAGES_RUN_BY_THE_OFFLINE_SHELLS, (
                    f"{edge[0]} imports the page {target}"
                )
                assert dynamic, (
                    f"{edge[0]} must import {target} lazily, once its markup is filled in"
                )
                found.add(edge)
    assert found == PAGES_RUN_BY_THE_OFFLINE_SHELLS  # an exception no longer used is removed


def test_the_service_worker_imports_shared_classic_scripts():
    """The service worker's importScripts() loads lib/ modules that exist (device store, outbox)."""
    worker = (TEMPLATES / "pwa" / "sw.js").read_text()
    scripts = re.findall(r"url_for\('static', filename='(js/[^']+)'\)", worker)
    assert scripts
    for filename in scripts:
        assert filename.startswith("js/lib/") and (JS.parent / filename).is_file(), filename
