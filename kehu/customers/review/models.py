"""Tables of Periodic review and reassignment."""
