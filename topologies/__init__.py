"""Mininet topologies; each module also exposes `topos = {...}` for `mn --custom`."""
