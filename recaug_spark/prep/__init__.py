"""Preprocessing steps (bronze -> silver): cleaning, imputation, normalization, features, split."""
