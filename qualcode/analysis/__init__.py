"""Analyses of coded interviews: :mod:`~qualcode.analysis.agreement`,
:mod:`~qualcode.analysis.saturation`, ... (import from the submodules)."""
