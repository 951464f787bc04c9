"""User mistakes end in one clear line and exit status 2, Ctrl-C in a resume hint and 130; --debug shows more."""

import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_recipes import ROOT, TINY, run_recipe
from workout_runtime.cli import INTERRUPTED, _filtered, run_recipe as run_main


def recipe_main(name):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def call(capsys, name, *args):
    code = run_main(recipe_main(name), [str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def tiny_run(synthetic_frames, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    run_recipe("train_video_classifier.py", "--frames", synthetic_frames, "--runs-dir", runs, "--name", "tiny",
               "--aggregators", "vote", "lstm", *TINY)
    return runs / "tiny"


def _one_error_line(err):
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_config_and_data_mistakes_are_one_line(capsys, synthetic_frames, tmp_path):
    code, _, err = call(capsys, "train_video_classifier", "--frames", synthetic_frames, "--model-name", "vgg16")
    assert code == 2 and "model_name='vgg16'" in _one_error_line(err)
    code, _, err = call(capsys, "train_video_classifier", "--frames", tmp_path / "nowhere")
    assert code == 2 and "No frame manifest" in _one_error_line(err) and "--images" in err
    code, _, err = call(capsys, "evaluate", "--run", tmp_path / "no_run")
    assert code == 2 and "Run folder not found" in _one_error_line(err)
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "clip.mp4").write_bytes(b"x")
    code, _, err = call(capsys, "extract_frames", "--videos", tmp_path / "loose", "--out", tmp_path / "f")
    assert code == 2 and "move them into class folders" in _one_error_line(err)


def test_too_many_folds_are_refused_before_any_work_saying_what_folds_can_be(capsys, synthetic_frames, tmp_path):
    code, _, err = call(capsys, "cross_validate", "--frames", synthetic_frames, "--out", tmp_path / "cv", "--folds", 9,
                        *TINY[:-6])
    line = _one_error_line(err)
    assert code == 2 and "Cannot make 9 grouped folds" in line and "expected 2 to 3" in line
    assert not (tmp_path / "cv").exists()


def test_damaged_and_incomplete_runs_are_named(capsys, tiny_run, synthetic_videos, tmp_path):
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_run, damaged)
    data = (damaged / "lstm.keras").read_bytes()
    (damaged / "lstm.keras").write_bytes(data[:len(data) // 3])
    code, _, err = call(capsys, "classify_video", video, "--run", damaged, "--temporal", "lstm")
    assert code == 2 and "damaged or incomplete" in _one_error_line(err) and "lstm.keras" in err
    code, _, err = call(capsys, "classify_video", video, "--run", damaged, "--temporal", "transformer")
    assert code == 2 and "has no 'transformer' model" in _one_error_line(err)
    (damaged / "run.json").write_text("{half a fi")
    code, _, err = call(capsys, "classify_video", video, "--run", damaged)
    assert code == 2 and "is damaged" in _one_error_line(err)


def test_debug_shows_the_traceback_and_bugs_keep_theirs(capsys, tmp_path):
    with pytest.raises(Exception, match="Run folder not found"):
        run_main(recipe_main("evaluate"), ["--run", str(tmp_path / "missing"), "--debug"])

    def buggy(argv):
        raise ZeroDivisionError("a bug, not a user mistake")

    with pytest.raises(ZeroDivisionError):
        run_main(buggy, [])


def test_ctrl_c_says_how_to_resume(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    assert run_main(interrupted, []) == 130
    assert INTERRUPTED in capsys.readouterr().err


def test_tensorflow_start_up_noise_is_filtered_and_real_warnings_kept():
    noise = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
             "I0000 00:00:1795519452.245839    8476 port.cc:153] oneDNN custom operations are on.\n"
             "E0000 00:00:1795519455.318570    8476 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"
             "I0000 00:00:1.2 8 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU\n"
             "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with "
             "the appropriate compiler flags.\n")
    real = "W0000 00:00:1.5 9 op_kernel.cc:1] Out of range: a real problem\nerror: something the user must see\n"
    assert _filtered(noise + real) == real


def test_a_real_process_prints_one_line_without_tensorflow_noise_for_offline_weights(synthetic_frames, tmp_path):
    """EfficientNetB0's ImageNet weights cannot be downloaded here: once four chained tracebacks."""
    result = subprocess.run([sys.executable, str(ROOT / "recipes" / "train_image_classifier.py"), "--frames",
                             str(synthetic_frames), "--runs-dir", str(tmp_path / "runs"), "--model-name",
                             "efficientnet_b0", "--image-size", "32"], capture_output=True, text=True, cwd=ROOT,
                            timeout=300, env={**__import__("os").environ, "KERAS_HOME": str(tmp_path / "keras")})
    assert result.returncode == 2, result.stderr[-2000:]
    line = _one_error_line(result.stderr)
    assert "efficientnetb0_notop.h5" in line and "efficientnet_lite0" in line
    for noise in ("absl::InitializeLog", "cuInit", "oneDNN", "cpu_feature_guard"):
        assert noise not in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_ctrl_c_in_a_real_extraction_loses_nothing_and_the_same_command_resumes(synthetic_videos, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(synthetic_videos, videos)
    command = [sys.executable, str(ROOT / "recipes" / "extract_frames.py"), "--videos", str(videos), "--out",
               str(tmp_path / "frames"), "--every-seconds", "0.02", "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "frames").rglob("frames.csv")):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and INTERRUPTED in err and "Traceback" not in err
    done = len(list((tmp_path / "frames").rglob("frames.csv")))
    total = len(list(videos.rglob("*.mp4")))
    assert 0 < done < total
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0 and f"{done} already extracted" in result.stdout
    with open(tmp_path / "frames" / "manifest.csv") as f:
        assert len({line.split(",")[2] for line in f.readlines()[1:]}) == total


def test_small_mistakes_are_one_line_each(tmp_path):
    """--frames 0 or -3 at extraction, a binary file as --frames, a config.py that is not valid Python."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def recipe(*args, cwd=root):
        return subprocess.run([sys.executable, str(root / "recipes" / args[0]), *map(str, args[1:])], cwd=cwd,
                              capture_output=True, text=True, timeout=300)

    for frames in ("0", "-3"):
        result = recipe("extract_frames.py", "--videos", tmp_path, "--out", tmp_path / "out", "--frames", frames)
        assert result.returncode == 2 and "--frames must be a positive integer" in result.stderr
        assert not (tmp_path / "out" / "extraction.json").exists()
    binary = tmp_path / "frames.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    result = recipe("train_video_classifier.py", "--frames", binary)
    assert result.returncode == 2 and "is not a frame manifest" in result.stderr and "Traceback" not in result.stderr
    bad = tmp_path / "bad_config.py"
    bad.write_text("model_name = 'movenet_thunder\n")
    result = recipe("train_video_classifier.py", "--config", bad)
    assert result.returncode == 2 and "is not valid Python" in result.stderr and "line 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_frame_that_cannot_be_written_stops_the_video_before_it_is_marked_done(synthetic_videos, tmp_path,
                                                                                 monkeypatch):
    from toolkit.data import frames as frames_module

    monkeypatch.setattr(frames_module.cv2, "imwrite", lambda *args, **kwargs: False)
    with pytest.raises(frames_module.FrameWriteError, match="Could not write the frame"):
        frames_module.extract_frames(synthetic_videos, tmp_path / "out", num_frames=2, workers=1, progress=False)
    assert not list((tmp_path / "out").rglob("frames.csv"))  # nothing marked done: a rerun extracts them all
    monkeypatch.undo()  # the disk has room again
    report = frames_module.extract_frames(synthetic_videos, tmp_path / "out", num_frames=2, workers=1,
                                          progress=False)
    assert report.resumed == 0 and all(Path(r).is_file() for r in (tmp_path / "out").rglob("frame_*.jpg"))


def test_a_folder_in_use_is_refused_naming_the_process_that_holds_it(synthetic_videos, tmp_path):
    from toolkit.data.frames import extract_frames
    from workout_runtime.locks import FolderBusyError, folder_lock

    out = tmp_path / "frames"
    with folder_lock(out, "extracting frames"):
        with pytest.raises(FolderBusyError, match=r"in use by process \d+ \(extracting frames\)"):
            extract_frames(synthetic_videos, out, num_frames=2, workers=1, progress=False)
        # A second process is refused the same way, in one line.
        result = subprocess.run([sys.executable, str(ROOT / "recipes" / "extract_frames.py"), "--videos",
                                 str(synthetic_videos), "--out", str(out), "--frames", "2"], capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 2 and "in use by process" in result.stderr, result.stderr[-1500:]
    report = extract_frames(synthetic_videos, out, num_frames=2, workers=1, progress=False)  # free again
    assert report.extracted > 0
    nothing = tmp_path / "never_written"
    with folder_lock(nothing, "training"):
        pass
    assert not nothing.exists()  # work that wrote nothing leaves no folder
