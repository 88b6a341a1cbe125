"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe,
for the web page's real-browser test (test_web_ui.py).

Headless Chromium (Debian's `chromium`, installed by scripts/install.sh) is
started with --remote-debugging-pipe: it reads CDP commands from file
descriptor 3 and writes replies and events to descriptor 4, each message a
JSON object ended by a NUL byte. So no WebSocket library and no npm package
is needed. One page target is created and attached with flatten=True; its
commands carry that sessionId.

Not thread-safe: one test drives one browser.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

COMMAND_TIMEOUT_S = 60.0


class CdpError(RuntimeError):
    pass


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Headless Chromium with one page, driven over the CDP pipe."""

    def __init__(self, executable: str, profile: Path, width: int = 1280,
                 height: int = 900) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser's fd 3 reads commands, fd 4 writes replies.
        # (Through fresh copies: a pipe's own descriptor may be 3 or 4.)
        def wire_fds() -> None:
            read_copy, write_copy = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_copy, 3)
            os.dup2(write_copy, 4)
        self.process = subprocess.Popen(
            [executable, "--headless=new",
             # This sandbox runs the tests as root, and Chromium refuses to
             # start its own sandbox as root: --no-sandbox is required here.
             "--no-sandbox",
             "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions",
             "--remote-debugging-pipe", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            # dup2 leaves 3 and 4 inheritable; every other descriptor of
            # this process is close-on-exec (Python's default), so
            # close_fds=False leaks nothing else into the browser.
            close_fds=False, preexec_fn=wire_fds,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(profile / "chromium.log", "wb"))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.command("Target.createTarget", {"url": "about:blank"},
                              session=None)["targetId"]
        self.session: str | None = self.command(
            "Target.attachToTarget", {"targetId": target, "flatten": True},
            session=None)["sessionId"]
        self.command("Page.enable")
        self.command("Runtime.enable")
        self.command("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1,
                      "mobile": False})

    def close(self) -> None:
        try:
            self.command("Browser.close", session=None, timeout=10)
        except (CdpError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("no reply from the browser in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise CdpError(f"the browser exited (code {self.process.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def command(self, method: str, params: dict[str, Any] | None = None, *,
                session: str | None | bool = True,
                timeout: float = COMMAND_TIMEOUT_S) -> dict[str, Any]:
        """Sends one command (to the page unless session=None) and returns
        its result; a CDP error raises CdpError."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session is True:
            message["sessionId"] = self.session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data):]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def evaluate(self, expression: str, timeout: float = COMMAND_TIMEOUT_S) -> Any:
        """The value of a JavaScript expression (promises awaited)."""
        result = self.command("Runtime.evaluate",
                              {"expression": expression, "awaitPromise": True,
                               "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = COMMAND_TIMEOUT_S,
                 what: str = "") -> Any:
        """Polls a JavaScript expression until it is truthy; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise CdpError(f"timed out waiting for {what or expression}")

    def navigate(self, url: str) -> None:
        self.command("Page.navigate", {"url": url})

    def set_files(self, selector: str, paths: list[Path]) -> None:
        """Chooses files in an <input type=file> (fires its change event)."""
        root = self.command("DOM.getDocument")["root"]["nodeId"]
        node = self.command("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise CdpError(f"no element {selector}")
        self.command("DOM.setFileInputFiles",
                     {"nodeId": node, "files": [str(p) for p in paths]})

    def center_of(self, selector: str, fx: float = 0.5, fy: float = 0.5) -> tuple[float, float]:
        """Viewport coordinates of the point (fx, fy) of an element's box."""
        rect = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()")
        return rect[0] + fx * rect[2], rect[1] + fy * rect[3]

    def click(self, x: float, y: float, button: str = "left",
              modifiers: int = 0) -> None:
        buttons = {"left": 1, "right": 2}[button]
        self.command("Input.dispatchMouseEvent",
                     {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self.command("Input.dispatchMouseEvent",
                         {"type": kind, "x": x, "y": y, "button": button,
                          "buttons": buttons if kind == "mousePressed" else 0,
                          "clickCount": 1, "modifiers": modifiers})

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 5) -> None:
        """Left button down at (x0, y0), moved to (x1, y1), released."""
        self.command("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x0, "y": y0})
        self.command("Input.dispatchMouseEvent",
                     {"type": "mousePressed", "x": x0, "y": y0, "button": "left",
                      "buttons": 1, "clickCount": 1})
        for i in range(1, steps + 1):
            x = x0 + (x1 - x0) * i / steps
            y = y0 + (y1 - y0) * i / steps
            self.command("Input.dispatchMouseEvent",
                         {"type": "mouseMoved", "x": x, "y": y, "button": "left", "buttons": 1})
        self.command("Input.dispatchMouseEvent",
                     {"type": "mouseReleased", "x": x1, "y": y1, "button": "left",
                      "buttons": 0, "clickCount": 1})

    def allow_downloads(self, directory: Path) -> None:
        """Files the page downloads are saved in `directory`."""
        self.command("Browser.setDownloadBehavior",
                     {"behavior": "allow", "downloadPath": str(directory)}, session=None)

    def click_element(self, selector: str) -> None:
        x, y = self.center_of(selector)
        self.click(x, y)

    def screenshot(self, path: Path) -> Path:
        data = self.command("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path


def poll(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
