"""Tables of Inspections."""
