"""Analysis over the graph: evidence and actor profiles, hypothesis scoring and its
calibration, the engine's API, alias resolution, the ATT&CK matrix view."""
