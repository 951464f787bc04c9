"""A web page to classify an exercise: upload a video or an image, or film one with the webcam.

    python recipes/serve.py --run runs/quickstart            # then open http://127.0.0.1:7860
    python recipes/serve.py --run runs/pose --port 8080 --host 0.0.0.0 --max-size-mb 100

The page shows the verdict (the exercise and its confidence, or "unknown" with the reason), every class's
probability as a bar chart with the chance level, the timeline of segments of a longer video, and for pose runs the
skeleton MoveNet found on sampled frames and the repetition count with each repetition's own verdict. It uses the
inference pipeline classify_video uses (workout_runtime.pipeline) and decodes each upload once. It listens on
127.0.0.1 only unless --host says otherwise; files over --max-size-mb or of other types are refused with the reason
on the page; uploads are written only to a temporary folder that is removed when the server stops; requests from
several people are queued and handled one at a time (two cores do not gain from more). Gradio (pip install
".[app]") was chosen over Streamlit because its page is a function of inputs to outputs with a built-in request
queue and webcam component, which is exactly this app, and Keras' own video examples use it.
"""

import atexit
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from workout_runtime.cli import add_model_source, load_classifier, make_parser, quiet_tensorflow, run_recipe
from workout_runtime.verdicts import OTHER

quiet_tensorflow()

VIDEO_TYPES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_TYPES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class Analysis:
    """Everything the page shows for one upload: the pipeline's analysis of it, from one decode."""

    def __init__(self, classifier, max_bytes: int, window_s: float = 4.0, stride_s: float = 1.0):
        self.classifier = classifier
        self.max_bytes = max_bytes
        self.window_s, self.stride_s = window_s, stride_s
        self.pose = bool(classifier.repetition_signals)

    def check(self, path: str) -> str:
        """'video' or 'image', or a ValueError saying why the file is refused."""
        size = os.path.getsize(path)
        if size > self.max_bytes:
            raise ValueError(f"{Path(path).name} is {size / 2**20:.1f} MB; this server takes files up to "
                             f"{self.max_bytes / 2**20:.0f} MB (--max-size-mb).")
        suffix = Path(path).suffix.lower()
        if suffix in VIDEO_TYPES:
            return "video"
        if suffix in IMAGE_TYPES:
            return "image"
        raise ValueError(f"{Path(path).name}: not a video or an image this server reads "
                         f"({', '.join(VIDEO_TYPES + IMAGE_TYPES)}).")

    def analyse(self, path: str) -> dict:
        """The verdict, probabilities, timeline, skeleton frames and repetitions of one file."""
        from workout_runtime.images import read_image
        from workout_runtime.pose_layout import draw_skeleton

        kind = self.check(path)
        result = {"kind": kind, "segments": [], "repetitions": None, "skeletons": [],
                  "rule": self.classifier.image_rule if kind == "image" else self.classifier.rule}
        if kind == "image":
            image = read_image(path)
            result["verdict"] = self.classifier.classify_image(image, Path(path).name)
            frames = self.classifier.prepare_frames(image[None])
            keypoints = self.classifier.backend.keypoints(frames) if self.pose else None
        else:
            analysis = self.classifier.analyse(path, self.window_s, self.stride_s)
            result.update(verdict=analysis.verdict, segments=analysis.segments, repetitions=analysis.repetitions)
            frames, keypoints = analysis.frames, analysis.keypoints
        if keypoints is not None:
            result["skeletons"] = [draw_skeleton(frame, joints) for frame, joints in zip(frames, keypoints)]
        return result


def verdict_markdown(result: dict) -> str:
    v = result["verdict"]
    evidence = f"{v.frames_with_evidence} of {v.frames_used} frames with evidence"
    if v.unknown:
        text = f"## unknown\n{v.unknown_reason}; the top class was **{v.top_label}** ({v.confidence:.1%}). {evidence}."
    else:
        text = f"## {v.label} ({v.confidence:.1%})\n{evidence}."
    count = result.get("repetitions")
    if count is not None:
        if count.count:
            lines = [f"\n\n**{count.count} repetition{'s' * (count.count != 1)}**\n"]
            lines += [f"{k}. {r.start_s:.1f}-{r.end_s:.1f} s: {r.label} ({r.confidence:.0%})"
                      for k, r in enumerate(count.repetitions, start=1)]
            text += "\n".join(lines)
        else:
            text += f"\n\nrepetitions: 0 ({count.reason or 'no whole repetition'})"
        if count.unconfirmed:
            text += f"\n\n(counted as **{count.exercise}**, an unconfirmed exercise: the verdict is unknown)"
    return text


def probability_figure(result: dict, class_names):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v, rule = result["verdict"], result.get("rule")
    names = sorted(class_names, key=lambda c: v.probabilities[c])
    values = [v.probabilities[n] for n in names]
    colours = ["#4c72b0" if n == v.top_label else "#a6bddb" for n in names]
    if rule is not None and rule.other_class is not None and rule.score == "exercise_probability":
        # The score the threshold applies to, as a bar of its own: 1 - P(other).
        names, values = ["exercise (1 - other)", *names], [1 - v.probabilities[OTHER], *values]
        colours = ["#dd8452", *colours]
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(names) + 1.2))
    ax.barh(names, values, color=colours)
    ax.axvline(1 / len(class_names), color="grey", linestyle="--", linewidth=1, label="chance (uniform)")
    if rule is not None and rule.threshold is not None:
        # Beside chance, so that a long bar under an "unknown" headline explains itself.
        ax.axvline(rule.threshold, color="#c44e52", linestyle=":", linewidth=1.5,
                   label=f"needed to accept ({rule.threshold:.2f})")
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def timeline_figure(result: dict, class_names):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    segments = result["segments"]
    labels = list(class_names) + ["unknown"]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.2))
    palette = plt.get_cmap("tab10")
    for s in segments:
        row = labels.index(s.label)
        colour = "#bbbbbb" if s.label == "unknown" else palette(row % 10)
        ax.barh(row, s.end_s - s.start_s, left=s.start_s, color=colour, edgecolor="white")
    count = result.get("repetitions")
    if count is not None:
        for r in count.repetitions:
            ax.axvline(r.turn_s, color="#c44e52", linestyle=":", linewidth=1)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("seconds" + (" (dotted: repetitions' turning points)" if count and count.count else ""))
    ax.set_title("timeline")
    fig.tight_layout()
    return fig


def build_app(analysis: Analysis, title: str):
    import gradio as gr
    import matplotlib.pyplot as plt

    from workout_runtime.errors import UserError

    class_names = analysis.classifier.class_names

    def run(upload, webcam):
        path = upload or webcam
        if not path:
            raise gr.Error("Upload a video or an image, or record one with the webcam.")
        plt.close("all")
        try:
            result = analysis.analyse(path)
        except (UserError, ValueError) as error:
            raise gr.Error(str(error)) from None
        timeline = timeline_figure(result, class_names) if result["segments"] else None
        return (verdict_markdown(result), probability_figure(result, class_names), timeline,
                result["skeletons"] or None)

    with gr.Blocks(title=title, delete_cache=(3600, 3600)) as app:
        gr.Markdown(f"# {title}\n{analysis.classifier.description}. Videos and images up to "
                    f"{analysis.max_bytes / 2**20:.0f} MB.")
        with gr.Row():
            with gr.Column():
                upload = gr.File(label="video or image", file_types=list(VIDEO_TYPES + IMAGE_TYPES),
                                 type="filepath", elem_id="upload")
                webcam = gr.Video(label="or film with the webcam", sources=["webcam"], elem_id="webcam")
                button = gr.Button("Classify", variant="primary", elem_id="classify")
            with gr.Column():
                verdict = gr.Markdown(elem_id="verdict")
                chart = gr.Plot(label="class probabilities", elem_id="probabilities")
        timeline = gr.Plot(label="timeline", elem_id="timeline")
        skeletons = gr.Gallery(label="skeleton on sampled frames", columns=6, elem_id="skeletons",
                               visible=analysis.pose)
        outputs = [verdict, chart, timeline, skeletons]
        button.click(run, [upload, webcam], outputs)
        upload.upload(run, [upload, webcam], outputs)
    return app


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    add_model_source(parser)
    parser.add_argument("--temporal", choices=("vote", "lstm", "transformer"), help="aggregator (default: the run's)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--max-size-mb", type=float, default=200.0, help="largest upload accepted (default 200)")
    parser.add_argument("--no-reject", action="store_true", help='always name the top class, never "unknown"')
    args = parser.parse_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        from workout_runtime.errors import UserError

        raise UserError('The web app needs Gradio: pip install ".[app]"') from None
    # Uploads go to a folder of ours, removed when the server stops (Gradio's default cache outlives it).
    uploads = tempfile.mkdtemp(prefix="workout-serve-")
    os.environ["GRADIO_TEMP_DIR"] = uploads
    atexit.register(shutil.rmtree, uploads, ignore_errors=True)
    # atexit runs on a normal exit and Ctrl-C, not on SIGTERM (kill, systemd, docker stop): make that an exit too,
    # so the uploads folder goes with the server.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    classifier = load_classifier(args.run, args.model, args.temporal, reject=not args.no_reject)
    analysis = Analysis(classifier, int(args.max_size_mb * 2**20))
    app = build_app(analysis, "Which exercise is this?")
    app.queue(default_concurrency_limit=1, max_size=32)
    print(f"serving {args.run or args.model} on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    try:
        app.launch(server_name=args.host, server_port=args.port, max_file_size=f"{args.max_size_mb:g}mb",
                   show_error=True, quiet=True, ssr_mode=False)
    finally:
        shutil.rmtree(uploads, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
