"""Classify images with a saved run: top-k exercises with probabilities.

    python recipes/classify_image.py photo.jpg --run runs/quickstart
    python recipes/classify_image.py folder_of_images/ --run runs/quickstart --top-k 3 --json

Accepts image files and folders (searched recursively for .jpg .jpeg .png .bmp .webp).
Unreadable images are reported and skipped; the exit status is 1 if any were. A pose run
(movenet_*) classifies each image from MoveNet keypoints with its per-frame pose classifier; an
image where no body is found is reported like an unreadable one.
"""

import json
import sys
from pathlib import Path

from toolkit.cli import make_parser, quiet_tensorflow

quiet_tensorflow()

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from toolkit.data.images import IMAGE_EXTENSIONS  # noqa: E402
from toolkit.models import is_pose_model  # noqa: E402
from toolkit.training.frame_trainer import load_class_names  # noqa: E402


def collect(paths):
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        else:
            yield path


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("images", nargs="+", help="image files or folders")
    parser.add_argument("--run", required=True, help="run folder written by a training recipe")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    run = Path(args.run)
    class_names = load_class_names(run)
    config = json.loads((run / "config.json").read_text())
    pose = is_pose_model(config["model_name"])
    if pose:
        from toolkit.models.pose_features import STATIC_FEATURES, pose_features
        from toolkit.training.pose_trainer import load_pose_encoder, load_pose_models

        encoder = load_pose_encoder(config["model_name"], config["pose_model_dir"])
        model = load_pose_models(run).frame_model
    else:
        size = int(config["image_size"])
        model = keras.models.load_model(run / "model.keras")
    paths, inputs, failures = [], [], []
    for path in collect(args.images):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            failures.append({"path": str(path), "error": "not a readable image (missing, empty or corrupt)"})
            continue
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        if pose:
            features = pose_features(encoder(image[None]))[0, :STATIC_FEATURES]
            if not np.abs(features).sum():
                failures.append({"path": str(path), "error": f"{config['model_name']} found no body in it"})
                continue
        else:
            features = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        paths.append(str(path))
        inputs.append(features)
    results = []
    for start in range(0, len(inputs), args.batch_size):
        batch = np.stack(inputs[start:start + args.batch_size]).astype("float32")
        for path, probs in zip(paths[start:], keras.ops.convert_to_numpy(model(batch, training=False))):
            top = np.argsort(probs)[::-1][:args.top_k]
            results.append({"path": path, "top": [{"label": class_names[i], "probability": float(probs[i])}
                                                  for i in top]})
    if args.json:
        print(json.dumps({"results": results, "failures": failures}, indent=2))
    else:
        for r in results:
            print(f"{r['path']}: " + ", ".join(f"{t['label']} {t['probability']:.1%}" for t in r["top"]))
        for f in failures:
            print(f"{f['path']}: ERROR {f['error']}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
