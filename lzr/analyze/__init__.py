"""`lzr analyze`: LZR datasets (ours or LZR's JSON lines, plain or gzip) into the LZR paper's
tables and plots.

Layout: `sources` turns inputs into line-aligned chunks of plain text, inflating gzip on
reader threads; `ingest` parses the chunks with DuckDB into a table of services and counters;
`tables` builds the report from it; `run` ties these together; `render` and `plots` write
the report out; `cli` is the command; `synth` generates realistic datasets with a known truth
for tests and benchmarks; `ports` holds each protocol's primary IANA port.

DuckDB, numpy and matplotlib are imported only by the modules that need them, so the scanner
runs without them and `lzr analyze` says what to install when they are missing.
"""
