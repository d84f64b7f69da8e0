"""Frozen pretrained encoders shipped in PyPI packages: MiniLM for text, EfficientNet-Lite0 for images."""
