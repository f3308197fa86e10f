"""Login, sessions, second factor, roles and delegation."""
