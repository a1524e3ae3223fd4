"""Browser tests: a real server process (`civicstack runserver` on a fresh SQLite database with
the small demo data) driven by Debian's headless Chromium through Playwright."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CIVICSTACK = str(Path(sys.executable).with_name("civicstack"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_demo(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("browser-var")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(CIVICSTACK_VAR_DIR=str(var_dir), CIVICSTACK_ENV="development")
    subprocess.run([CIVICSTACK, "migrate", "-v0"], env=env, check=True)
    subprocess.run([CIVICSTACK, "demo-data", "--scale", "small", "--no-progress"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    port = _free_port()
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"  # where gateways send the payer back
    log = open(var_dir / "server.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [CIVICSTACK, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(600):  # up to a minute: with one pytest worker a core, two demos may be starting
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1)  # noqa: S310 - our own local server
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.terminate()
        pytest.fail(f"server did not start: {(var_dir / 'server.log').read_text()}")
    yield base_url
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_demo):
    context = browser.new_context(base_url=live_demo, locale="zh-TW", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.csp_violations = []
    page.on(
        "console", lambda msg: "Content Security Policy" in msg.text and page.csp_violations.append(msg.text)
    )
    yield page
    context.close()


def log_in(page, credentials: tuple[str, str], next_path: str) -> None:
    """Log in through the login page as (username, password) and land on ``next_path``."""
    page.goto(f"/login/?next={next_path}")
    page.locator("#id_username").fill(credentials[0])
    page.locator("#id_password").fill(credentials[1])
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"**{next_path}")
