"""Tables and their invariants (see DESIGN.md)."""
