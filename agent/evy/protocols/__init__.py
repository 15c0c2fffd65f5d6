"""Verified emergency protocol texts and emergency numbers."""
