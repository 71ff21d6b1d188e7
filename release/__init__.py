"""Helpers of the Med-CMR builder that do not belong in `medcmr.py` itself (the sample release)."""
