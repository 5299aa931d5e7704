"""agentls: a language server that brings a coding agent into any LSP editor."""

__version__ = "0.1.0"
