"""Datasets: synthetic videos, frame extraction, manifests, image folders, grouped splits, tf.data pipelines."""
