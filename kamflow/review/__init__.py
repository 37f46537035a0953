"""The nightly credit review (clause 2.13): ageing, dunning, collection tasks for the KAM."""

MAX_SHARDS = 64
"""The most slices a review may be cut into (each a run on a worker)."""
