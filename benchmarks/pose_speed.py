"""MoveNet pose extraction speed, Lightning and Thunder, on real frames: the TensorFlow graph against LiteRT.

    python benchmarks/pose_speed.py
    python benchmarks/pose_speed.py --smoke   # 4 synthetic frames: checks the script runs (CI), no figures

Decodes 64 frames of a real workout4 clip (640x360) and times each MoveNet encoder (keypoints and the 64 pose
features, letterboxing included) on them after a warm-up, one model at a time: frames per second on this
machine. Then the same encoder converted to LiteRT (builtin ops, as `recipes/export.py` converts a pose run),
one frame per call on XNNPACK with the interpreter's default threads and with one per core: its frames per second,
its ratio to the graph (one frame per call) measured in this one run, and how far its features are from the graph's. The models come
from ../shared/models/movenet, else the user's cache (recipes/fetch_pose_models.py).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="4 frames of a tiny synthetic video: checks the script runs (CI); no figures")
    args = parser.parse_args(argv)
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from toolkit.export import tflite_bytes
    from toolkit.models.inference import GraphPredictor
    from toolkit.models.movenet_files import default_pose_model_dir
    from toolkit.models.registry import build_encoder
    from workout_runtime.sampling import read_frames

    models = SHARED / "models" / "movenet"
    if not (models / "movenet-lightning.json").is_file():
        models = default_pose_model_dir()
    if args.smoke:
        from smoke import tiny_videos, work_dir

        video = next(tiny_videos(work_dir("pose_speed") / "videos", ("squat",), 1).rglob("*.mp4"))
        frames = read_frames(video, 4).frames
    else:
        video = sorted((SHARED / "data" / "workout4" / "pull-ups").glob("*.mp4"))[0]
        frames = read_frames(video, 64).frames
    print(f"{len(frames)} frames of {frames.shape[2]}x{frames.shape[1]} from {video.name}")
    for variant in ("lightning", "thunder"):
        model = build_encoder(f"movenet_{variant}", pose_model_dir=models)
        encoder = GraphPredictor(model)
        encoder(frames[:4])  # warm-up: traces the graph
        encoder(frames[:1])
        start = time.perf_counter()
        reference = encoder(frames)
        batch_fps = len(frames) / (time.perf_counter() - start)
        start = time.perf_counter()
        for frame in frames:
            encoder(frame[None])
        graph_fps = len(frames) / (time.perf_counter() - start)
        print(f"| MoveNet {variant} | TensorFlow graph, one frame per call | {graph_fps:.1f} | 1.00x |")
        print(f"| MoveNet {variant} | TensorFlow graph, {len(frames)} frames in one call (as classify_video) | "
              f"{batch_fps:.1f} | {batch_fps / graph_fps:.2f}x |")
        spec = tf.TensorSpec([1, None, None, 3], tf.uint8)
        flatbuffer = tflite_bytes(model, spec)
        for threads in (None, os.cpu_count()):
            interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
            index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(index, (1, *frames.shape[1:]))
            interpreter.allocate_tensors()
            output = interpreter.get_output_details()[0]["index"]

            def litert(frame):
                interpreter.set_tensor(index, frame[None])
                interpreter.invoke()
                return interpreter.get_tensor(output)[0]

            litert(frames[0])  # warm-up
            start = time.perf_counter()
            features = np.stack([litert(frame) for frame in frames])
            fps = len(frames) / (time.perf_counter() - start)
            print(f"| MoveNet {variant} | LiteRT (XNNPACK, {threads or 'default'} threads) | {fps:.1f} | "
                  f"{fps / graph_fps:.2f}x the graph; largest feature difference "
                  f"{np.abs(features - reference).max():.1e} |")

if __name__ == "__main__":
    main()
