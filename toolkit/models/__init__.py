"""Encoders chosen by name, and the frame head they share."""

from toolkit.models.frame_head import build_frame_classifier, build_frame_head
from toolkit.models.registry import (MODEL_NAMES, PIXEL_ENCODERS, POSE_ENCODERS, EncoderInfo, UnknownModelError,
                                     build_encoder, encoder_info)

__all__ = ["MODEL_NAMES", "PIXEL_ENCODERS", "POSE_ENCODERS", "EncoderInfo", "UnknownModelError", "build_encoder",
           "build_frame_classifier", "build_frame_head", "encoder_info"]
