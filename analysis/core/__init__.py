"""Layer 0, beneath every other: errors, progress bars, units, the embedded data files, the GPU
vocabulary and small compiled helpers. Imports nothing else of the package."""
