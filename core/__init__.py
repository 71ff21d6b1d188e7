"""The bottom layer: what Med-CMR is (`vocabulary`), the results contract (`results`), the settings
(`settings`). It imports nothing else of this project, so every other layer can build on it."""
