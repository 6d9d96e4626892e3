"""Tables of service requests and emergencies."""
