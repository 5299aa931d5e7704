"""What code the model sees: languages, scopes, instruction comments (no pygls)."""
