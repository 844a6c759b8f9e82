"""Quality of synthetic tabular data: fidelity (how alike) and privacy (how close to the training rows)."""
