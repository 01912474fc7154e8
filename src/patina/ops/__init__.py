"""Differentiable image ops and metrics."""
