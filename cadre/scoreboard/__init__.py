"""`cadre scoreboard`: each route's specialist against the primary on held-out data.

A runtime client (like cadre.collect): it loads models through the manager, never
imports cadre.training, and records each specialist's score in its checkpoint's
cadre.json, where cadre.runtime.gates reads it when serving.
"""
from cadre.scoreboard.board import Row, format_table, run_scoreboard

__all__ = ["Row", "format_table", "run_scoreboard"]
