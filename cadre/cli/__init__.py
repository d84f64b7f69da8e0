"""The `cadre` command: one module per verb group, each a thin wrapper over the layers."""
