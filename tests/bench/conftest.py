"""Fixtures of the benchmark tests.

- ``render_check``: opens an HTML file in headless Chromium (Debian's ``chromium``, installed by
  ``make test``) and returns what the page rendered: the number of tables and their rows, the
  images and which of them are broken (``naturalWidth == 0``), and the script errors. No skip:
  the test fails when Chromium is missing.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: injected first into <head>: records errors, then writes the findings into the DOM on load
_PROBE = """<script>
window.__medsrErrors = [];
window.addEventListener('error', function (e) {
  window.__medsrErrors.push(String(e.message || (e.target && e.target.tagName) || e.type));
}, true);
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var tables = Array.prototype.slice.call(document.querySelectorAll('table'));
  var out = {
    tables: tables.length,
    table_rows: tables.map(function (t) { return t.rows.length; }),
    images: images.length,
    widths: images.map(function (i) { return i.naturalWidth; }),
    broken: images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                  .map(function (i) { return i.alt || i.src.slice(0, 40); }),
    errors: window.__medsrErrors
  };
  var pre = document.createElement('pre');
  pre.id = 'medsr-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=10000",
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "headless Chromium is missing: `make test` installs it (apt-get install chromium, as "
        "root), or install Debian's chromium package"
    )


@pytest.fixture
def render_check(tmp_path: Path) -> Callable[[Path], dict[str, Any]]:
    """``check(html_path) -> {tables, table_rows, images, widths, broken, errors}``."""
    binary = _chromium()

    def check(page: Path) -> dict[str, Any]:
        text = Path(page).read_text(encoding="utf-8")
        assert "<head>" in text, f"{page} has no <head>"
        probe = tmp_path / f"probe-{Path(page).name}"
        probe.write_text(text.replace("<head>", "<head>" + _PROBE, 1), encoding="utf-8")
        done = subprocess.run(
            [
                binary,
                *_FLAGS,
                f"--user-data-dir={tmp_path / 'chromium-profile'}",
                "--dump-dom",
                probe.resolve().as_uri(),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        found = re.search(r'<pre id="medsr-check">(.*?)</pre>', done.stdout, re.DOTALL)
        assert found, f"chromium rendered no check (rc {done.returncode}): {done.stderr[-2000:]}"
        return json.loads(html.unescape(found.group(1)))

    return check
