"""The sans-IO scan engine: LZR's per-target state machine (see engine.py).

Its settings are `lzr.config.EngineConfig`, derived from the scan's `ScanConfig`."""
from lzr.engine.engine import Engine
from lzr.engine.send import Send

__all__ = ["Engine", "Send"]
