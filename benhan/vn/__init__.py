"""Vietnamese formats and identifiers."""
