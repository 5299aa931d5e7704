"""Text, positions and edits: pure functions and the document store (no pygls)."""
