"""Full-page screenshots that the browser tests keep as artifacts for people to look at."""
from __future__ import annotations

from pathlib import Path


def full_page(page, path: Path) -> None:
    """Save a full-page screenshot, asking once more if Chromium refuses the first capture.

    With two pytest-xdist workers each rendering in a headless Chromium on two cores, Chromium
    answered "Unable to capture screenshot" once in seven suite runs. The picture is an artifact,
    not what the test asserts, so a second request after the next frame is painted is fair; a
    second refusal still fails the test."""
    from playwright.sync_api import Error

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(path), full_page=True)
    except Error as error:
        if "Unable to capture screenshot" not in str(error):
            raise
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
        page.screenshot(path=str(path), full_page=True)
