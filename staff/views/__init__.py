"""Staff pages, one module per area; each view parses, calls one service or selector, renders."""
