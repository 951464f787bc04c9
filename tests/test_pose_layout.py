"""The pose-feature layout the counter reads (workout_runtime.pose_layout) is the one the Keras layer writes."""

import math

import numpy as np
import pytest

from workout_runtime import pose_layout as layout


def keypoints() -> np.ndarray:
    """One figure facing right, (y, x, score) per COCO joint, with a right-angled left elbow."""
    points = {
        "nose": (0.20, 0.52), "left_eye": (0.19, 0.53), "right_eye": (0.19, 0.51), "left_ear": (0.20, 0.54),
        "right_ear": (0.20, 0.50), "left_shoulder": (0.30, 0.50), "right_shoulder": (0.30, 0.50),
        "left_elbow": (0.45, 0.50), "right_elbow": (0.45, 0.50), "left_wrist": (0.45, 0.65),
        "right_wrist": (0.45, 0.65), "left_hip": (0.60, 0.50), "right_hip": (0.60, 0.50),
        "left_knee": (0.75, 0.50), "right_knee": (0.75, 0.50), "left_ankle": (0.90, 0.50),
        "right_ankle": (0.90, 0.50)}
    return np.array([[[*points[name], 0.9] for name in layout.KEYPOINT_NAMES]], np.float32)


def test_the_layer_writes_what_the_layout_says():
    keras = pytest.importorskip("keras")
    from toolkit.models import pose_features

    features = keras.ops.convert_to_numpy(pose_features.PoseFrameFeatures(mirror_invariant=False)(keypoints()))[0]
    assert features.shape == (layout.FRAME_FEATURES,) == (pose_features.FRAME_FEATURES,)
    torso = 0.30  # shoulders to hips
    assert features[layout.SCALE] == pytest.approx(torso, abs=1e-5)
    assert features[layout.CENTRE_X] == pytest.approx(0.50, abs=1e-5)
    assert features[layout.CENTRE_Y] == pytest.approx(0.60, abs=1e-5)
    assert features[layout.MIRRORED] == 1.0
    # Coordinates are hip-centred in torso lengths: the wrist is 0.5 torso above the hips and 0.5 in front.
    assert features[layout.coordinate("left_wrist", "y")] == pytest.approx((0.45 - 0.60) / torso, abs=1e-5)
    assert features[layout.coordinate("left_wrist", "x")] == pytest.approx((0.65 - 0.50) / torso, abs=1e-5)
    assert features[layout.COORDINATES + layout.KEYPOINT_NAMES.index("left_wrist")] == 1.0  # visible
    assert features[layout.angle("left_elbow")] == pytest.approx(0.5, abs=1e-5)  # 90 degrees / 180
    assert features[layout.angle("left_knee")] == pytest.approx(1.0, abs=1e-5)  # straight
    assert features[layout.angle("torso_tilt")] == pytest.approx(0.0, abs=1e-5)  # upright
    assert math.isclose(features[layout.angle("left_shoulder")], 0.0, abs_tol=1e-5)  # arm along the torso


def test_unknown_names_are_refused_with_the_name_echoed():
    with pytest.raises(ValueError, match="'left_hand'"):
        layout.coordinate("left_hand", "x")
    with pytest.raises(ValueError, match="'z'"):
        layout.coordinate("left_wrist", "z")
    with pytest.raises(ValueError, match="'neck'"):
        layout.angle("neck")
