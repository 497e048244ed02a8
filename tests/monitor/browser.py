"""Debian's Chromium, headless, driven by Selenium through Debian's chromedriver.

Selenium rather than Chromium's own ``--dump-dom``: it gives the page as the browser rendered
it, the HTTP status the browser received (Chrome's performance log), the console's errors and a
screenshot at a chosen window size, from one browser session for every page. Selenium is given
both binaries' paths, so Selenium Manager never looks for (or downloads) a driver.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: The flags of a quiet headless Chromium on a machine with no way out: nothing but the pages.
#: pynmon's pages link Bootstrap, htmx and Material Icons from CDNs: the resolver fails every
#: host but 127.0.0.1, so a page renders the same with or without a network (unstyled, from
#: the server's HTML alone) and no test waits on the internet.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


@dataclass(frozen=True)
class PageVisit:
    """One page as the browser got it.

    :param url: the address visited.
    :param status: the HTTP status of the document (``None``: the browser saw no response).
    :param text: the page's visible text.
    :param source: the page's HTML as rendered (a JSON answer shows as text).
    :param console_errors: the console's errors about the monitor's own address.
    """

    url: str
    status: int | None
    text: str
    source: str
    console_errors: tuple[str, ...]


def missing_browser() -> str | None:
    """Why the browser cannot start here, or ``None``."""
    absent = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not absent:
        return None
    return (
        f"{' and '.join(absent)} not found: tests/monitor drive Debian's Chromium. Install them with "
        "'apt-get install -y chromium chromium-driver' (deploy/test does it when run as root)."
    )


@contextmanager
def headless_chromium(width: int = 1600, height: int = 1000) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile, quit when the block ends.

    :param width: window width, in CSS pixels.
    :param height: window height.
    """
    reason = missing_browser()
    if reason:
        raise RuntimeError(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="pynmon-chromium-") as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        try:
            yield driver
        finally:
            driver.quit()


def visit(driver: webdriver.Chrome, url: str) -> PageVisit:
    """Load ``url`` and read it back as the browser rendered it.

    :param driver: the browser.
    :param url: the page.
    """
    driver.get_log("performance")  # drop what earlier pages logged
    driver.get_log("browser")
    driver.get(url)
    status = None
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived" and message["params"]["type"] == "Document":
            status = int(message["params"]["response"]["status"])  # the last document: after redirects
    origin = url.split("/", 3)[:3]
    own = "/".join(origin)
    errors = tuple(
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and own in entry["message"]
    )
    return PageVisit(url, status, driver.find_element(By.TAG_NAME, "body").text, driver.page_source, errors)
