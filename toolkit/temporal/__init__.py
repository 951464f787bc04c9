"""Temporal aggregators: frame classifiers into video classifiers."""

from toolkit.temporal.layers import ApplyMask, FrameMask, FramewiseApply, VotePooling
from toolkit.temporal.vote import build_vote_classifier

__all__ = ["ApplyMask", "FrameMask", "FramewiseApply", "VotePooling", "build_vote_classifier"]
