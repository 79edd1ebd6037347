"""Planning in the web process: the domain <-> routing adapter and the planning service."""
