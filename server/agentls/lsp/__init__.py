"""The LSP edge: the only package that imports pygls and lsprotocol."""
