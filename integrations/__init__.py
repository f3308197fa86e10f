"""Clients for the systems we do not own, and a sandbox that plays them."""
