"""The nightly credit review (clause 2.13): ageing, dunning, collection tasks for the KAM."""
