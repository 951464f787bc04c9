"""Frame classifiers and pose encoders, chosen by name."""

from toolkit.models.heads import get_feature_extractor
from toolkit.models.registry import (FRAME_MODEL_NAMES, FRAME_MODELS, MODEL_NAMES, POSE_MODELS,
                                     build_frame_classifier, get_frame_model_spec, is_pose_model)

__all__ = ["FRAME_MODELS", "FRAME_MODEL_NAMES", "MODEL_NAMES", "POSE_MODELS", "build_frame_classifier",
           "get_feature_extractor", "get_frame_model_spec", "is_pose_model"]
