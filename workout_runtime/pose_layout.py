"""Where each value sits in the 64 per-frame pose features: the one table both packages read.

`toolkit.models.pose_features` writes features in this layout (inside the
saved model); the repetition counter here reads them without TensorFlow.
Per frame:

* the joints' (x, y) relative to the hip centre divided by the torso length,
  joint by joint (`COORDINATES` = 34);
* a visibility flag per joint (17);
* nine angles in [0, 1] (radians / pi), `ANGLE_NAMES`; 0 when unseen (9);
* the body's centre x and y in the frame, its scale, and +1 or -1 for a
  mirrored figure (4).
"""

from __future__ import annotations

import numpy as np

KEYPOINT_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle")
# Joint angles at (first, vertex, last): elbows, knees, hips, shoulders; then the torso's tilt.
JOINT_ANGLES = ((5, 7, 9), (6, 8, 10), (11, 13, 15), (12, 14, 16), (5, 11, 13), (6, 12, 14), (7, 5, 11), (8, 6, 12))
ANGLE_NAMES = ("left_elbow", "right_elbow", "left_knee", "right_knee", "left_hip", "right_hip", "left_shoulder",
               "right_shoulder", "torso_tilt")
COORDINATES, VISIBILITY, ANGLES, GEOMETRY = 34, 17, 9, 4
STATIC_FEATURES = COORDINATES + VISIBILITY + ANGLES  # 60
FRAME_FEATURES = STATIC_FEATURES + GEOMETRY  # 64
ANGLES_START = COORDINATES + VISIBILITY  # 51
CENTRE_X, CENTRE_Y, SCALE, MIRRORED = range(STATIC_FEATURES, FRAME_FEATURES)  # 60, 61, 62, 63


def coordinate(joint: str, axis: str) -> int:
    """The position of a joint's x or y among the features."""
    if joint not in KEYPOINT_NAMES or axis not in ("x", "y"):
        raise ValueError(f"Unknown joint or axis. Received: joint={joint!r}, axis={axis!r}; expected one of "
                         f"{list(KEYPOINT_NAMES)} and 'x' or 'y'")
    return 2 * KEYPOINT_NAMES.index(joint) + (axis == "y")


def angle(name: str) -> int:
    """The position of a joint angle (or the torso's tilt) among the features."""
    if name not in ANGLE_NAMES:
        raise ValueError(f"Unknown angle. Received: name={name!r}; expected one of {list(ANGLE_NAMES)}")
    return ANGLES_START + ANGLE_NAMES.index(name)


# COCO joints joined into limbs, for drawing skeletons.
LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14),
         (14, 16), (0, 5), (0, 6))


def draw_skeleton(frame: np.ndarray, joints: np.ndarray, min_score: float = 0.2) -> np.ndarray:
    """A copy of an RGB frame with MoveNet's `(17, 3)` joints (y, x, score; y and x in [0, 1]) drawn on it."""
    import cv2

    frame = np.array(frame, dtype=np.uint8, copy=True)
    height, width = frame.shape[:2]
    points = [(int(x * width), int(y * height), s) for y, x, s in joints]
    thickness = max(1, round(max(height, width) / 160))
    for a, b in LIMBS:
        if points[a][2] >= min_score and points[b][2] >= min_score:
            cv2.line(frame, points[a][:2], points[b][:2], (60, 220, 90), thickness, cv2.LINE_AA)
    for x, y, s in points:
        if s >= min_score:
            cv2.circle(frame, (x, y), thickness + 1, (230, 60, 60), -1, cv2.LINE_AA)
    return frame

