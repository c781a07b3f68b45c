"""The sans-IO scan engine: LZR's per-target state machine (see engine.py)."""
from lzr.engine.config import EngineConfig, Send
from lzr.engine.engine import Engine

__all__ = ["Engine", "EngineConfig", "Send"]
