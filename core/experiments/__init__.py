"""Layer 4, experiments: work across models or that makes models (training, sweeps, the augmented-BoW fit and its
comparison, shipping analyses, architectures side by side)."""
