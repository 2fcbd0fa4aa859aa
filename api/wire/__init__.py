"""Wire shapes more than one resource returns."""
