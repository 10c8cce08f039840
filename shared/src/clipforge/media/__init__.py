"""Media: the one library clips' files live in, and what a decoder can tell about them."""
