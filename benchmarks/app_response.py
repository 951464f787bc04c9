"""Web app response time: a 10 s video uploaded to recipes/serve.py until the page's outputs come back.

    python benchmarks/app_response.py --run runs/quickstart --repeats 5
    python benchmarks/app_response.py --smoke   # a run trained for a moment, a 2 s upload (CI); no figures

Starts the app on a free loopback port, renders a 10 s synthetic video (640x480, 30 fps), and sends it through
Gradio's own client (upload + queue + the same function the page calls) --repeats times after one warm-up.
Results: benchmarks/results/app_response.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    from gradio_client import Client, handle_file

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "app_response.json"),
                        help="where to write the results (JSON)")
    parser.add_argument("--smoke", action="store_true",
                        help="a run trained for a moment on tiny synthetic videos and a 2 s upload, in a temporary "
                             "folder (CI); no figures")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from stream import synthetic_clip

    seconds, work, path = 10.0, ROOT / "data" / "bench_app", Path(args.out)
    if args.smoke:
        from smoke import tiny_trained_run

        run = tiny_trained_run("app_response")
        args.run, args.repeats, seconds, work, path = str(run), 1, 2.0, run.parent, run.parent / "app_response.json"
    elif not args.run:
        parser.error("--run is required (or --smoke)")
    video = synthetic_clip(work / f"{seconds:g}_seconds.mp4", seconds, seed=4)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(ROOT / "recipes" / "serve.py"), "--run", args.run, "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(180):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(1)
        client = Client(url, verbose=False)
        endpoint = next(name for name in client.view_api(return_format="dict", print_info=False)["named_endpoints"])
        times = []
        for k in range(args.repeats + 1):
            started = time.perf_counter()
            client.predict(handle_file(str(video)), None, api_name=endpoint)
            if k:  # the first call traces the model
                times.append(time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(30)
    report = {"run": args.run, "video": f"{seconds:g} s, 640x480, 30 fps", "endpoint": endpoint,
              "seconds_median": round(float(np.median(times)), 2), "seconds_all": [round(t, 2) for t in times]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
