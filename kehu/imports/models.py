"""Tables of Import and export."""
