"""Loading is safe: a model file's pose graph runs only MoveNet's ops, and a run.json names nothing outside its run."""

import json

import numpy as np
import pytest

from toolkit.errors import RunError
from toolkit.models.pose import MoveNetLayer
from toolkit.models.tfjs import PoseModelError, graph_function
from toolkit.temporal.run_files import load_video_model, read_run_info


def _tfjs(nodes, functions=()):
    document = {"modelTopology": {"node": nodes, "library": {"function": list(functions)}},
                "weightsManifest": [{"paths": [], "weights": []}]}
    return json.dumps(document).encode()


WRITE_FILE = [
    {"name": "image", "op": "Placeholder", "attr": {"dtype": {"type": "DT_INT32"}}},
    {"name": "filename", "op": "Const", "attr": {"dtype": {"type": "DT_STRING"}, "value": {"tensor": {
        "dtype": "DT_STRING", "tensorShape": {}, "stringVal": ["L3RtcC9wd25lZA=="]}}}},
    {"name": "Identity", "op": "WriteFile", "input": ["filename", "filename"]},
]


def test_a_graph_with_an_op_that_is_not_movenets_is_refused_naming_it(tmp_path):
    with pytest.raises(PoseModelError, match="op 'WriteFile'"):
        graph_function(_tfjs(WRITE_FILE), b"", "crafted.json")
    hidden = {"signature": {"name": "f", "outputArg": []}, "nodeDef": []}
    with pytest.raises(PoseModelError, match="defines functions"):
        graph_function(_tfjs(WRITE_FILE[:1], [hidden]), b"", "crafted.json")


def test_a_crafted_movenet_layer_is_refused_when_its_bytes_are_loaded(tmp_path):
    json_bytes = _tfjs(WRITE_FILE)
    layer = MoveNetLayer("lightning", 192, len(json_bytes), 1)
    layer.model_json.assign(np.frombuffer(json_bytes, dtype=np.uint8))
    with pytest.raises(PoseModelError, match="WriteFile"):
        layer._rebuild()  # what loading a saved model does (load_own_variables)


def _run(tmp_path, **changes):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    info = {"model_name": "custom_cnn", "class_names": ["a", "b"], "num_frames": 4, "frame_size": 48,
            "max_side": None, "aggregators": {"vote": {"file": "vote.keras"}}, "default_aggregator": "vote",
            "status": "complete", **changes}
    (run / "run.json").write_text(json.dumps(info))
    return run


@pytest.mark.parametrize("name", ["../../elsewhere/x.keras", "/tmp/x.keras", "sub/vote.keras", "vote.h5"])
def test_run_json_cannot_point_outside_its_folder(tmp_path, name):
    (tmp_path / "elsewhere").mkdir()
    run = _run(tmp_path, aggregators={"vote": {"file": name}})
    with pytest.raises(RunError, match="refused"):
        load_video_model(run, "vote")


def test_run_json_with_an_unknown_model_name_is_refused(tmp_path):
    with pytest.raises(RunError, match="model_name='resnet_9000'"):
        read_run_info(_run(tmp_path, model_name="resnet_9000"))
