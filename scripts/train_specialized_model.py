#!/usr/bin/env python
"""The seed's training script, kept as a thin shim over `cadre train` with the same flags:

    python scripts/train_specialized_model.py --type router \\
        --data data/specialized/router_training.txt --model-size nano --epochs 50
"""
import sys

from cadre.cli.main import app

if __name__ == "__main__":
    sys.exit(app(["train", *sys.argv[1:]], prog_name="train_specialized_model.py"))
