"""Data only: policy, keymap, theme, icons. This file lets the package data be found."""
