"""Decode and wellness filters for images and video frames (no Qt)."""
