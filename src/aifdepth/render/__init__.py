"""Focal-stack renderers: light-field refocusing and layered RGB-D defocus."""
