"""Chromium for the tests and the page benchmark: Debian's /usr/bin/chromium driven by
Playwright for Python (its own browser download is never used).

Outside CI the browser tests skip, with the reason, when Playwright or Chromium is missing;
.ci/run installs both and sets TINYGRAD_RNN_BROWSER_TESTS=required, so there they fail
instead of skipping.
"""
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TINYGRAD_RNN_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync",
               "--disable-default-apps", "--disable-extensions"]
REQUIRED = os.environ.get("TINYGRAD_RNN_BROWSER_TESTS") == "required"


def unavailable():
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; the test extra has it)"
    if not os.access(CHROMIUM, os.X_OK):
        return (f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run "
                f"installs it)")
    return None


def require_browser():
    """Skip (fail under CI) when there is no browser to test in."""
    reason = unavailable()
    if reason:
        if REQUIRED:
            pytest.fail(f"browser tests are required here, but {reason}")
        pytest.skip(reason)


@contextmanager
def chromium():
    """A headless Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A browser tab that records console errors, page errors and every request, and lets
    no request but the page's own file through."""

    def __init__(self, browser, width=1400, height=900):
        self.tab = browser.new_page(viewport={"width": width, "height": height})
        self.problems, self.requests, self.allowed = [], [], set()
        self.tab.on("console", self._console)
        self.tab.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.tab.on("request", lambda request: self.requests.append(request.url))
        self.tab.route("**/*", self._route)

    def _console(self, message):
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _route(self, route):
        url = route.request.url.split("#")[0]
        if url in self.allowed:
            route.continue_()
        else:
            self.problems.append(f"network request: {route.request.url}")
            route.abort()

    def open(self, path, fragment=""):
        url = Path(path).resolve().as_uri()
        self.allowed.add(url)
        self.tab.goto(url + fragment)
        if str(path).endswith(".html"):
            self.tab.wait_for_selector("html[data-ready=true]", state="attached")
        return self.tab

    def check(self):
        """No console error, no page error, no request but the page's own files."""
        strangers = [u for u in self.requests if u.split("#")[0] not in self.allowed]
        assert not self.problems and not strangers, (self.problems, strangers)

    def close(self):
        self.tab.close()
