"""Exported artifacts: parity with the Keras model for every encoder type and aggregator, and a runtime without
TensorFlow."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import MOVENET
from test_recipes import ROOT
from test_runs import tiny_config
from toolkit.data.manifest import read_manifest
from toolkit.data.splits import split_manifest
from toolkit.errors import RunError
from toolkit.export import ExportError, check_parity, export_run, run_clips
from toolkit.temporal.run_files import read_run_info
from toolkit.training.trainer import train_run



def _train(name, synthetic_frames, tmp_path_factory):
    rows = read_manifest(synthetic_frames)
    run = tmp_path_factory.mktemp(f"export_{name}") / "run"
    dataset = {"unit": "videos", "frames": str(synthetic_frames)}
    train_run(tiny_config(name, frames_dir=str(synthetic_frames)), rows, split_manifest(rows, 0.25, 0.25, seed=0),
              run, dataset=dataset, progress=False, log=lambda _: None)
    return run


@pytest.fixture(scope="module")
def pixel_run(synthetic_frames, tmp_path_factory):
    return _train("custom_cnn", synthetic_frames, tmp_path_factory)


@pytest.fixture(scope="module")
def pose_run(synthetic_frames, tmp_path_factory):
    if not (MOVENET / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    return _train("movenet_lightning", synthetic_frames, tmp_path_factory)


# The vote artifacts are checked on every inference path by test_every_backend_gives_the_keras_results; the
# sequence heads' pose artifacts take a minute more and run with the slow tests.
@pytest.mark.parametrize("kind, aggregator", [("pixel", "lstm"),
                                              pytest.param("pixel", "transformer", marks=pytest.mark.slow),
                                              pytest.param("pose", "lstm", marks=pytest.mark.slow),
                                              pytest.param("pose", "transformer", marks=pytest.mark.slow)])
def test_float_artifacts_match_the_keras_model(kind, aggregator, request, tmp_path):
    run = request.getfixturevalue(f"{kind}_run")
    clips = list(run_clips(run, read_run_info(run), "test", 8))
    assert clips
    for fmt in ("tflite", "onnx"):
        exported = export_run(run, tmp_path / f"{aggregator}.{fmt}", fmt, aggregator)
        parity = check_parity(exported, clips)
        assert parity["max_abs_difference"] <= 1e-4, (fmt, parity)
        assert parity["top1_agreement"] == 1.0 and parity["evidence_agreement"] == 1.0, (fmt, parity)
        contract = json.loads(exported.contract_path.read_text())
        assert contract["num_frames"] == 4 and contract["aggregator"] == aggregator
        assert (contract["input"]["frame_geometry"] == {"size": 48}) == (kind == "pixel")


def _verdict_of(verdict) -> dict:
    return {"label": verdict.label, "top": verdict.top_label, "frames": verdict.frames_used,
            "evidence": verdict.frames_with_evidence, "span": (verdict.start_s, verdict.end_s),
            "probabilities": np.array(list(verdict.probabilities.values()))}


def _every_path(pipeline, video, frames) -> dict:
    """What each inference path of the pipeline answers for one video (no repetitions: artifacts cannot count)."""
    windows, segments, _ = pipeline.timeline(video, 1.0, 0.5)
    analysis = pipeline.analyse(video, 1.0, 0.5, repetitions=False)
    return {"classify": [_verdict_of(pipeline.classify(video))],
            "timeline": [_verdict_of(w) for w in windows], "segments": segments,
            "classify_frames": [_verdict_of(pipeline.classify_frames(frames))],
            "classify_images": [_verdict_of(v) for v in pipeline.classify_images(frames[:2], ["a", "b"])],
            "analyse": [_verdict_of(analysis.verdict)] + [_verdict_of(w) for w in analysis.windows],
            "analyse_segments": analysis.segments}


def _same_results_through_every_backend(run, videos, tmp_path) -> None:
    from toolkit.export import artifact_classifier
    from toolkit.temporal.inference import VideoClassifier

    pipelines = {"keras": VideoClassifier.from_run(run, "vote")}
    for fmt, suffix in (("savedmodel", ""), ("tflite", ".tflite"), ("onnx", ".onnx")):
        pipelines[fmt] = artifact_classifier(export_run(run, tmp_path / f"vote{suffix}", fmt, "vote", check=0).path)
    for video in videos:
        _same_results(pipelines, video)


def _same_results(pipelines, video) -> None:
    from workout_runtime.sampling import read_frames

    frames = read_frames(video, 6, max_side=640).frames
    expected = _every_path(pipelines["keras"], video, frames)
    assert len(expected["timeline"]) >= 3 and expected["segments"] == expected["analyse_segments"]
    for backend, pipeline in list(pipelines.items())[1:]:
        got = _every_path(pipeline, video, frames)
        for path, results in expected.items():
            if path.endswith("segments"):
                assert [(s.label, s.start_s, s.end_s) for s in got[path]] == \
                    [(s.label, s.start_s, s.end_s) for s in results], (backend, path)
                np.testing.assert_allclose([s.confidence for s in got[path]], [s.confidence for s in results],
                                           atol=1e-4)
                continue
            assert len(got[path]) == len(results), (backend, path)
            for mine, theirs in zip(got[path], results):
                np.testing.assert_allclose(mine.pop("probabilities"), theirs["probabilities"], atol=1e-4,
                                           err_msg=f"{backend} {path}")
                assert mine == {k: v for k, v in theirs.items() if k != "probabilities"}, (backend, path)


@pytest.mark.parametrize("kind", ["pixel", "pose"])
def test_every_backend_gives_the_keras_results(kind, request, synthetic_videos, tmp_path):
    """One pipeline over four backends: a Keras run, its SavedModel, LiteRT and ONNX exports give the same verdicts,
    timelines, in-memory verdicts, image verdicts and analyses."""
    _same_results_through_every_backend(request.getfixturevalue(f"{kind}_run"),
                                        sorted((synthetic_videos / "squat").glob("*.mp4"))[:1], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pixel", "pose"])
def test_every_backend_gives_the_keras_results_on_real_clips(kind, request, shared_dir, tmp_path):
    """The same on real workout4 clips (any size, real codecs): one of each class."""
    folders = sorted(p for p in (shared_dir / "data" / "workout4").iterdir() if p.is_dir())
    videos = [sorted(folder.glob("*.mp4"))[0] for folder in folders]
    _same_results_through_every_backend(request.getfixturevalue(f"{kind}_run"), videos, tmp_path)


def test_the_analysis_is_the_other_paths_from_one_decode(pose_run, synthetic_videos):
    """The app's one-decode analysis gives what the verdict-with-repetitions and the timeline give separately."""
    from toolkit.temporal.inference import VideoClassifier

    pipeline = VideoClassifier.from_run(pose_run, "vote")
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    analysis = pipeline.analyse(video, 1.0, 0.5)
    verdict, count = pipeline.classify_with_repetitions(video)
    windows, segments, counts = pipeline.timeline(video, 1.0, 0.5, repetitions=True)
    assert analysis.verdict == verdict and analysis.segments == segments and analysis.windows == windows
    assert analysis.repetitions.to_dict() == count.to_dict()
    assert [c.to_dict() for c in analysis.segment_counts] == [c.to_dict() for c in counts]
    assert len(analysis.frames) == 6 and analysis.keypoints.shape == (6, 17, 3)


def test_savedmodel_and_quantized_artifacts(pixel_run, tmp_path):
    clips = list(run_clips(pixel_run, read_run_info(pixel_run), "test", 4))
    saved = export_run(pixel_run, tmp_path / "saved", "savedmodel", "lstm")
    assert (saved.path / "saved_model.pb").is_file() and check_parity(saved, clips)["max_abs_difference"] <= 1e-4
    sizes = {}
    for quantize in ("none", "float16", "int8"):
        exported = export_run(pixel_run, tmp_path / f"vote_{quantize}.tflite", "tflite", "vote", quantize)
        parity = check_parity(exported, clips)
        assert parity["clips"] == len(clips) and parity["max_abs_difference"] < 0.5
        sizes[quantize] = exported.path.stat().st_size
    assert sizes["int8"] < sizes["float16"] < sizes["none"]


def test_export_refuses_what_it_cannot_do(pixel_run, tmp_path, monkeypatch):
    with pytest.raises(ExportError, match="format='coreml'"):
        export_run(pixel_run, fmt="coreml")
    with pytest.raises(ExportError, match="applies to --format tflite"):
        export_run(pixel_run, fmt="savedmodel", quantize="int8")
    vote_only = tmp_path / "vote_only"
    import shutil
    shutil.copytree(pixel_run, vote_only)
    info = json.loads((vote_only / "run.json").read_text())
    del info["aggregators"]["lstm"]
    (vote_only / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="has no 'lstm' model"):
        export_run(vote_only, fmt="onnx", aggregator="lstm")
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as if it were not installed
    with pytest.raises(ExportError, match="pip install"):
        export_run(pixel_run, tmp_path / "m.onnx", fmt="onnx")


def test_the_runtime_classifies_without_tensorflow_and_checks_its_input(pixel_run, pose_run, synthetic_videos,
                                                                          tmp_path):
    from workout_runtime.artifact import ArtifactVideoClassifier

    pixel = export_run(pixel_run, tmp_path / "pixel.tflite", "tflite", "vote")
    pose = export_run(pose_run, tmp_path / "pose.onnx", "onnx", "lstm")
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    script = (
        "import json, runpy, sys\n"
        "out = {}\n"
        "for model in sys.argv[2:]:\n"
        "    sys.argv = ['classify_video.py', sys.argv[1], '--model', model, '--json', '--timeline', '--window', '1']\n"
        "    try:\n"
        "        runpy.run_path('recipes/classify_video.py', run_name='__main__')\n"
        "    except SystemExit as exit:\n"
        "        out[model] = exit.code\n"
        "print(json.dumps({'codes': out, 'tensorflow': 'tensorflow' in sys.modules, 'keras': 'keras' in sys.modules}))")
    result = subprocess.run([sys.executable, "-c", script, str(video), str(pixel.path), str(pose.path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {"codes": {str(pixel.path): 0, str(pose.path): 0}, "tensorflow": False, "keras": False}
    # The artifact's verdict is the run's (same rule, same probabilities within float error).
    from toolkit.temporal.inference import VideoClassifier

    for exported, run, aggregator in ((pixel, pixel_run, "vote"), (pose, pose_run, "lstm")):
        light = ArtifactVideoClassifier(exported.path).classify(video)
        full = VideoClassifier.from_run(run, aggregator).classify(video)
        assert light.label == full.label and light.frames_with_evidence == full.frames_with_evidence
        np.testing.assert_allclose(list(light.probabilities.values()), list(full.probabilities.values()), atol=1e-4)
    with pytest.raises(RunError, match="takes 48x48 frames"):
        ArtifactVideoClassifier(pixel.path).backend.encode(np.zeros((4, 64, 64, 3), np.uint8))
    (tmp_path / "broken.tflite").write_bytes(pixel.path.read_bytes()[:1000])
    (tmp_path / "broken.tflite.json").write_text(pixel.contract_path.read_text())
    with pytest.raises(RunError, match="damaged or incomplete"):
        ArtifactVideoClassifier(tmp_path / "broken.tflite")
    with pytest.raises(RunError, match="no contract"):
        ArtifactVideoClassifier(tmp_path / "pixel.tflite.json")  # a file without its own contract


def test_an_artifact_appears_only_after_its_parity_check_passes(pixel_run, pose_run, tmp_path, monkeypatch):
    import toolkit.export as export

    checked = export_run(pixel_run, tmp_path / "ok.tflite", "tflite", "vote", check=4)
    assert checked.path.is_file() and checked.contract["parity"]["top1_agreement"] == 1.0
    assert json.loads(checked.contract_path.read_text())["run"] == pixel_run.name  # no machine path
    monkeypatch.setitem(export.PARITY_TOLERANCE, "none", -1.0)  # as if the artifact drifted from the model
    with pytest.raises(ExportError, match="Nothing was written"):
        export_run(pixel_run, tmp_path / "drifted.tflite", "tflite", "vote", check=4)
    assert not (tmp_path / "drifted.tflite").exists() and not (tmp_path / "drifted.tflite.json").exists()
    assert not list(tmp_path.glob(".export-*"))  # the staging folder is gone too
    with pytest.raises(ExportError, match="int8 breaks its pose arithmetic"):
        export_run(pose_run, tmp_path / "pose_int8.tflite", "tflite", "vote", "int8")
    assert not (tmp_path / "pose_int8.tflite").exists()
