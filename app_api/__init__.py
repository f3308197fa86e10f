"""HTTP face of the citizen super-app: app factory, settings, identity and the CLI."""
