"""Headless Chromium driven over the DevTools protocol (no Selenium, no Playwright).

`Browser()` starts Debian's `chromium` (ACTIVATION_CHROMIUM to use another binary) with a
throwaway profile and `--remote-debugging-port=0`, reads the port Chromium picked from
`DevToolsActivePort`, and talks to its page target over a WebSocket (the `websockets`
package Streamlit already needs). Enough for the dashboard test: open a URL, evaluate
JavaScript, wait for a condition, capture a PNG, collect console errors.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect


class BrowserError(Exception):
    pass


def chromium_binary() -> str:
    name = os.environ.get("ACTIVATION_CHROMIUM", "chromium")
    path = shutil.which(name)
    if path is None:
        raise BrowserError(f"{name!r} not found: run `bash scripts/chromium.sh` (Debian's chromium package)")
    return path


class Browser:
    def __init__(self, width: int = 1400, height: int = 1000):
        self._profile = tempfile.mkdtemp(prefix="activation-chromium-")
        self._process = subprocess.Popen(
            [chromium_binary(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--hide-scrollbars", "--mute-audio",
             f"--user-data-dir={self._profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()
        self.console_errors: list[str] = []
        try:
            port = self._devtools_port()
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
            page = next(target for target in targets if target["type"] == "page")
            self._socket = self._stack.enter_context(
                connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
            self.send("Page.enable")
            self.send("Runtime.enable")
            self.send("Emulation.setDeviceMetricsOverride",
                      width=width, height=height, deviceScaleFactor=1, mobile=False)
        except Exception:
            self.close()
            raise

    # Generous: in `make test` the lint and the benchmark load both cores meanwhile.
    def _devtools_port(self, timeout: float = 120) -> int:
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrowserError(f"chromium exited with code {self._process.returncode}")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.1)
        raise BrowserError(f"chromium did not open its DevTools port within {timeout} s")

    def send(self, method: str, timeout: float = 60, **params) -> dict:
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer to {method} within {timeout} s")
            message = json.loads(self._socket.recv(timeout=remaining))
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict) -> None:
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.console_errors.append(" ".join(str(arg.get("value", arg.get("description", "")))
                                                for arg in params.get("args", [])))

    def open(self, url: str) -> None:
        self.console_errors.clear()
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.25)
        raise BrowserError(f"timed out after {timeout} s waiting for {what or expression}")

    def screenshot(self, path: Path, width: int = 1400) -> None:
        """A PNG of the whole page: the window is made as tall as the app's content first
        (Streamlit scrolls inside its own container, not the document)."""
        measure = ("Math.max(1000, ...Array.from(document.querySelectorAll('body *'))"
                   ".map(e => e.getBoundingClientRect().bottom))")
        height, deadline = -1, time.monotonic() + 15
        while time.monotonic() < deadline:  # charts lay out after they draw: wait for a stable height
            time.sleep(0.5)
            current = int(self.evaluate(measure))
            if current == height:
                break
            height = current
        height = min(height + 100, 16000)
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        time.sleep(1.0)  # charts re-layout to the new size
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=1000, deviceScaleFactor=1, mobile=False)

    def close(self) -> None:
        self._stack.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
