"""The web app in a real browser (Debian's Chromium through Playwright): upload, verdict, chart, timeline, errors."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium absent (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_run(synthetic_videos, tmp_path_factory):
    pytest.importorskip("gradio")
    from test_recipes import TINY, run_recipe

    frames = tmp_path_factory.mktemp("app_frames")
    run_recipe("extract_frames.py", "--videos", synthetic_videos, "--out", frames, "--frames", 4, "--size", 48)
    runs = tmp_path_factory.mktemp("app_runs")
    run_recipe("train_video_classifier.py", "--frames", frames, "--runs-dir", runs, "--name", "app", *TINY)
    return runs / "app"


@pytest.fixture(scope="module")
def server(app_run, tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w")
    temp = tmp_path_factory.mktemp("server_tmp")  # where the server keeps uploads
    process = subprocess.Popen([sys.executable, str(ROOT / "recipes" / "serve.py"), "--run", str(app_run),
                                "--port", str(port), "--max-size-mb", "1"], stdout=log, stderr=subprocess.STDOUT,
                               cwd=ROOT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(temp)})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                raise AssertionError(Path(log.name).read_text()[-3000:])
            time.sleep(1)
    assert list(temp.glob("workout-serve-*")), "the server keeps uploads in a folder of its own"
    yield url
    process.terminate()  # SIGTERM, as kill, systemd or docker stop send it
    try:
        process.wait(timeout=30)
    finally:
        process.kill()
        log.close()
    # The uploads folder, with every uploaded video in it, goes with the server.
    assert not list(temp.glob("workout-serve-*")), Path(log.name).read_text()[-2000:]


@pytest.fixture(scope="module")
def page(server):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(server)
        yield page
        browser.close()


def upload(page, path):
    page.reload()  # a fresh page: the file box takes one file at a time
    page.locator("#upload input[type=file]").set_input_files(str(path))


def test_uploading_a_video_shows_the_verdict_chart_and_timeline(page, synthetic_videos, tmp_path):
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    upload(page, video)
    verdict = page.locator("#verdict")
    verdict.locator("h2").wait_for(timeout=120_000)
    names = ["squat", "push_up", "jumping_jack", "lunge", "lateral_raise", "curl_fast_lift", "curl_slow_lift",
             "unknown"]
    assert any(name in verdict.inner_text() for name in names)
    assert "frames with evidence" in verdict.inner_text()
    page.locator("#probabilities img, #probabilities svg, #probabilities canvas").first.wait_for(timeout=60_000)
    page.locator("#timeline img, #timeline svg, #timeline canvas").first.wait_for(timeout=60_000)
    shots = ROOT / "runs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "app.png"), full_page=True)
    assert (shots / "app.png").stat().st_size > 10_000


def test_a_broken_file_shows_its_error_in_the_page(page, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    upload(page, broken)
    error = page.get_by_text("broken.mp4", exact=False).filter(has_text="video")
    error.first.wait_for(timeout=60_000)


def test_a_file_over_the_size_limit_is_refused(page, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(3 * 2**20))
    upload(page, big)
    page.get_by_text("1 MB", exact=False).first.wait_for(timeout=60_000)
