"""Speed and memory of the video path, each figure a ratio measured in one run on this machine.

    pip install -e ".[bench]"          # imageio-ffmpeg: an ffmpeg with libx264 to make the test clips
    python benchmarks/speed.py         # about 10 minutes on 2 cores (the 4-minute clip is encoded once)
    python benchmarks/speed.py --quick # shorter clips, fewer repeats

Makes a 10-second and a 4-minute 1080p H.264 clip by looping a real clip from
../shared/data/workout4 (cached in data/bench_clips/), then measures, with EfficientNetB0 at
224 px and 16 frames per video:
  1. the reader's 16-frame sampling against plain cv2.VideoCapture grab() / read() of every frame;
  2. frame-classifier throughput at batch 1 and 32: GraphPredictor against model.predict and an
     eager call;
  3. classify_video end to end after start-up against decode + forward pass (start-up apart);
  4. an LSTM epoch on cached features against an end-to-end epoch through the frozen backbone;
  5. peak resident memory classifying the 10-second clip and the 4-minute clip.
Prints a Markdown report (copied into BENCHMARKS.md with the command) and writes
benchmarks/results/speed.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SOURCE = ROOT.parent / "shared" / "data" / "workout4" / "squats"


def timed(fn, repeats: int) -> float:
    """Median wall time of `fn()` over `repeats` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_clip(out: Path, seconds: float, source: Path | None = None, smoke: bool = False) -> Path:
    """A 1080p H.264 clip of `seconds` looping a real squat clip (x264 defaults: long GOP).

    With `smoke`, an MPEG-4 clip written by OpenCV instead (no ffmpeg needed; its speed is not the figure's).
    """
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    source = source or sorted(SOURCE.glob("*.mp4"))[0]
    if smoke:
        from workout_runtime.sampling import read_frames

        frames = read_frames(source, every_seconds=1 / 30, size=(1080, 1920)).frames
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30, (1920, 1080))
        for k in range(int(seconds * 30)):
            writer.write(cv2.cvtColor(frames[k % len(frames)], cv2.COLOR_RGB2BGR))
        writer.release()
        return out
    try:
        import imageio_ffmpeg
    except ImportError:
        sys.exit('benchmarks/speed.py encodes its H.264 test clips with ffmpeg: pip install -e ".[bench]"')
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-stream_loop", "-1",
                    "-i", str(source), "-t", str(seconds), "-vf", "scale=1920:1080", "-r", "30",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def grab_all(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    n = 0
    while capture.grab():
        n += 1
    capture.release()
    return n


def read_all(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    n = 0
    while True:
        ok, _ = capture.read()
        if not ok:
            break
        n += 1
    capture.release()
    return n


def make_run(run_dir: Path, image_size: int, frames: int) -> Path:
    """A run folder holding an EfficientNetB0 video model (random weights, trained for a moment; speed only)."""
    from smoke import tiny_frames, tiny_run, tiny_videos

    if (run_dir / "run.json").is_file() and '"complete"' in (run_dir / "run.json").read_text():
        return run_dir
    work = run_dir.parent / f"{run_dir.name}_data"
    videos = tiny_videos(work / "videos", classes=("squat", "push_up", "lunge", "jumping_jack"), videos_per_class=2)
    tiny_run(run_dir, tiny_frames(work / "frames", videos, frames), "efficientnet_b0", weights=None,
             image_size=image_size, frames_per_video=frames, epochs=0)
    return run_dir


CHILD = """
import os, sys, time, json
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
t0 = time.perf_counter()
from toolkit.temporal.inference import VideoClassifier
classifier = VideoClassifier.from_run(sys.argv[1], "vote")
t1 = time.perf_counter()
classifier.classify(sys.argv[2])  # warm-up: traces the graph
t2 = time.perf_counter()
classifier.classify(sys.argv[2])
t3 = time.perf_counter()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent
# (this benchmark, holding several models), while VmHWM starts afresh at exec.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"startup_s": t1 - t0, "first_s": t2 - t1, "classify_s": t3 - t2, "peak_rss_mb": peak_kb / 1024}))
"""


def classify_in_child(run_dir: Path, video: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(run_dir), str(video)], capture_output=True,
                            text=True, cwd=ROOT, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s and 30 s clips, 2 repeats")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="seconds of work on tiny synthetic inputs to check the script runs (CI); no figures")
    args = parser.parse_args(argv)
    short_s, long_s = (3, 30) if args.quick else (10, 240)
    repeats = 2 if args.quick else args.repeats
    frames, size = 16, 224
    clips = ROOT / "data" / "bench_clips"
    run_dir = ROOT / "runs" / "bench_speed_effnet"
    out = ROOT / "benchmarks" / "results"
    source = None
    if args.smoke:
        from smoke import tiny_videos, work_dir

        short_s, long_s, repeats, frames, size = 1, 2, 1, 4, 64
        clips = out = work_dir("speed")
        run_dir = clips / "run"
        source = next((tiny_videos(clips / "source", ("squat",), 1)).rglob("*.mp4"))
    short = make_clip(clips / f"loop_{short_s}s_1080p.mp4", short_s, source, args.smoke)
    long = make_clip(clips / f"loop_{long_s}s_1080p.mp4", long_s, source, args.smoke)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "clips": {"short_s": short_s, "long_s": long_s}}

    # === 1. Reader ===
    from workout_runtime.sampling import read_frames

    reader = {}
    for name, clip in (("short", short), ("long", long)):
        sample = timed(lambda: read_frames(clip, frames, size=size), repeats)
        grab = timed(lambda: grab_all(clip), repeats)
        read = timed(lambda: read_all(clip), repeats)
        reader[name] = {"sample_16_s": sample, "grab_all_s": grab, "read_all_s": read,
                        "sample_over_grab": sample / grab, "read_over_sample": read / sample}
    results["reader"] = reader

    # === 2. Frame-encoder throughput ===
    import keras

    from toolkit.models.inference import GraphPredictor
    from toolkit.models.registry import build_encoder

    model = build_encoder("efficientnet_b0", size, weights=None)
    graph = GraphPredictor(model)
    throughput = {}
    for batch in (1, 32):
        x = np.random.default_rng(0).integers(0, 256, (batch, size, size, 3)).astype("float32")
        reps = repeats * (10 if batch == 1 else 1)
        t_graph = timed(lambda: graph(x), reps)
        t_predict = timed(lambda: model.predict(x, batch_size=batch, verbose=0), reps)
        t_eager = timed(lambda: keras.ops.convert_to_numpy(model(x, training=False)), reps)
        throughput[batch] = {"graph_img_s": batch / t_graph, "predict_img_s": batch / t_predict,
                             "eager_img_s": batch / t_eager, "graph_latency_ms": 1000 * t_graph,
                             "graph_over_predict": t_predict / t_graph, "graph_over_eager": t_eager / t_graph}
    results["throughput"] = throughput

    # === 3. classify_video end to end vs decode + forward ===
    run_dir = make_run(run_dir, size, frames)
    child = classify_in_child(run_dir, short)
    from toolkit.temporal.run_files import load_video_model

    video_model = GraphPredictor(load_video_model(run_dir, "vote"))
    clip = read_frames(short, frames, size=size).frames[None]
    decode = timed(lambda: read_frames(short, frames, size=size), repeats)
    forward = timed(lambda: video_model(clip), repeats)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow, keras"], check=True, capture_output=True)
    import_s = time.perf_counter() - start
    results["classify_video"] = {"end_to_end_s": child["classify_s"], "decode_s": decode, "forward_s": forward,
                                 "over_sum": child["classify_s"] / (decode + forward),
                                 "startup_s": child["startup_s"], "first_call_s": child["first_s"],
                                 "python_tf_import_s": import_s}

    # === 4. LSTM epoch: cached features vs end to end ===
    from toolkit.temporal.heads import build_sequence_head
    from toolkit.temporal.video_model import build_video_model

    videos = 16 if not args.smoke else 4
    rng = np.random.default_rng(0)
    clips_x = rng.integers(0, 256, (videos, frames, size, size, 3)).astype("uint8")
    labels = rng.integers(0, 4, videos)
    feature_dim = model.output_shape[-1]
    model.trainable = False
    head = build_sequence_head("lstm", frames, feature_dim, 4)
    head.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    end_to_end = build_video_model(model, build_sequence_head("lstm", frames, feature_dim, 4), frames, size)
    end_to_end.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    cached = rng.normal(size=(videos, frames, feature_dim)).astype("float32")
    epochs = 20 if not args.smoke else 1
    # Per-epoch times from multi-epoch fits, so fit()'s own set-up is shared out.
    t_cached = timed(lambda: head.fit(cached, labels, batch_size=4, epochs=epochs, verbose=0), repeats) / epochs
    t_e2e = timed(lambda: end_to_end.fit(clips_x, labels, batch_size=4, epochs=min(2, epochs), verbose=0),
                  1) / min(2, epochs)
    results["lstm_epoch"] = {"videos": videos, "cached_s": t_cached, "end_to_end_s": t_e2e,
                             "speedup": t_e2e / t_cached}

    # === 5. Peak memory ===
    long_child = classify_in_child(run_dir, long)
    results["memory"] = {"short_peak_mb": child["peak_rss_mb"], "long_peak_mb": long_child["peak_rss_mb"],
                         "difference_mb": long_child["peak_rss_mb"] - child["peak_rss_mb"],
                         "long_classify_s": long_child["classify_s"]}

    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(results, indent=2))
    print(report(results))


def report(r: dict) -> str:
    lines = [f"Machine: {r['machine']}", "", "| measurement | figure | target |", "|---|---|---|"]
    for name, label in (("short", f"{r['clips']['short_s']} s"), ("long", f"{r['clips']['long_s']} s")):
        x = r["reader"][name]
        lines.append(f"| reader, {label} 1080p: 16-frame sampling / grab() of every frame | "
                     f"{x['sample_over_grab']:.2f}x ({x['sample_16_s']:.2f} s vs {x['grab_all_s']:.2f} s) | <= 1.15x |")
        lines.append(f"| reader, {label} 1080p: read() of every frame / 16-frame sampling | "
                     f"{x['read_over_sample']:.2f}x ({x['read_all_s']:.2f} s) | >= 1.3x |")
    for batch, x in r["throughput"].items():
        lines.append(f"| EfficientNetB0 224 px, batch {batch}: GraphPredictor | {x['graph_img_s']:.1f} img/s "
                     f"({x['graph_latency_ms']:.0f} ms/batch); predict {x['predict_img_s']:.1f}, eager "
                     f"{x['eager_img_s']:.1f} img/s | |")
        lines.append(f"| batch {batch}: speed-up over model.predict / over eager | {x['graph_over_predict']:.2f}x / "
                     f"{x['graph_over_eager']:.2f}x | " + ("batch 32: >= 1.4x over predict |" if str(batch) == "32"
                                                          else "batch 1: >= 5x over eager |"))
    c = r["classify_video"]
    lines.append(f"| classify_video (10 s clip, after start-up) / (decode + forward) | {c['over_sum']:.2f}x "
                 f"({c['end_to_end_s']:.2f} s vs {c['decode_s']:.2f} + {c['forward_s']:.2f} s) | <= 1.2x |")
    lines.append(f"| start-up: Python + TensorFlow import / model load / first call | {c['python_tf_import_s']:.1f} s / "
                 f"{c['startup_s']:.1f} s / {c['first_call_s']:.1f} s | |")
    s = r["lstm_epoch"]
    lines.append(f"| LSTM epoch, {s['videos']} videos: end to end / cached features | {s['speedup']:.0f}x "
                 f"({s['end_to_end_s']:.1f} s vs {s['cached_s']:.3f} s) | >= 50x |")
    m = r["memory"]
    lines.append(f"| peak RSS classifying: {r['clips']['long_s']} s clip - {r['clips']['short_s']} s clip | "
                 f"{m['difference_mb']:+.0f} MB ({m['long_peak_mb']:.0f} vs {m['short_peak_mb']:.0f} MB) | <= 100 MB |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
