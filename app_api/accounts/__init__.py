"""The signed-in account, the resident profile, real-name binding and enterprises."""
