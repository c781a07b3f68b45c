"""The emulated network: namespaces and Mininet topologies with synthetic services."""
