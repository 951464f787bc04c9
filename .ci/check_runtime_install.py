"""CI: the README's runtime install (pip install ".[runtime]") must resolve without TensorFlow, Keras or scikit-learn.

Resolves the install with pip's --dry-run --report (nothing is installed) and fails, naming them, if any of
the training packages is among what pip would install.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

FORBIDDEN = {"tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "tensorflow-datasets", "albumentations", "torch"}


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                        "--report", str(report), f"{root}[runtime]"], check=True)
        names = sorted(item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"])
    bad = sorted(FORBIDDEN & set(names))
    print(f"runtime install resolves to {len(names)} packages: {', '.join(names)}")
    if bad:
        print(f"CI: the runtime install pulls {bad}; it must not (setup.cfg install_requires)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
