"""Every script under benchmarks/ runs on today's API: each one's --smoke mode, on tiny synthetic inputs.

Marked `benchmarks` and left out of the default run (`-m "not slow and not benchmarks"`, about 10 minutes
together); CI runs them as a step of their own (.ci/run), so a rename that breaks a benchmark breaks CI.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MOVENET

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name != "smoke.py")
NEEDS_MOVENET = {"pose_speed.py"}


def test_every_benchmark_script_is_listed():
    assert len(SCRIPTS) >= 15, SCRIPTS


@pytest.mark.benchmarks
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_script_runs_in_smoke_mode(script):
    if script in NEEDS_MOVENET and not (MOVENET / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet's files are absent (../shared/models/movenet or the user's cache)")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"], capture_output=True,
                            text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, f"{script} --smoke failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
