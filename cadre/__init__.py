"""cadre: train, evaluate and serve a team of specialist models behind one router."""

__version__ = "0.1.0"
