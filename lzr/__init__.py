"""lzr: identify the services that really run on a port (an LZR-compatible scanner)."""
__version__ = "0.1.0"
