"""Open a page in headless Chromium and report what a reader would meet: console errors, images that did not render.

A probe script goes first into the page's <head> (of a copy): it records errors (scripts, failed resources)
and console.error calls, and after the load event writes every <img>'s natural size into the DOM, which
`--dump-dom` prints. Name resolution is mapped to nothing, so a page that needs the network shows it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
var __consoleError = console.error;
console.error = function () {
  window.__errors.push(Array.from(arguments).join(' '));
  __consoleError.apply(console, arguments);
};
window.addEventListener('load', function () {
  var out = document.createElement('pre');
  out.id = '__probe';
  out.textContent = JSON.stringify({errors: window.__errors,
    images: Array.from(document.images).map(function (i) { return [i.naturalWidth, i.naturalHeight]; })});
  document.body.appendChild(out);
});
</script>"""


def browser() -> str:
    """The headless browser's executable; skips the test when none is installed."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(f"no headless browser ({', '.join(BROWSERS)}) installed; .ci/run installs chromium")


def _chromium(*args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
             "--host-resolver-rules=MAP * ~NOTFOUND"]  # fmt: skip
    return subprocess.run([browser(), *flags, *args], capture_output=True, text=True, timeout=120)


def probe_page(page: Path, tmp_path: Path) -> dict:
    """{"errors": [...], "console": [console lines Chromium logged], "images": [[width, height], ...]}."""
    text = page.read_text()
    probed = tmp_path / f"probe_{page.name}"
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1))
    done = _chromium("--dump-dom", probed.resolve().as_uri())
    found = re.search(r'<pre id="__probe">([^<]*)</pre>', done.stdout)
    assert found, f"the page never finished loading: {done.stderr[-2000:]}"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    result["console"] = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return result


def screenshot(page: Path, png: Path, width: int = 1100, height: int = 1500) -> None:
    """A PNG of the page as headless Chromium renders it."""
    _chromium(f"--screenshot={png.resolve()}", f"--window-size={width},{height}", "--hide-scrollbars",
              page.resolve().as_uri())  # fmt: skip
    assert png.exists()
