"""Standalone scripts the benchmarks run in the peers' own environment (.venv-peer, scripts/peer_env.sh).

They import their peer package, torch, numpy and pandas only, never ``recaug_spark``.
"""
