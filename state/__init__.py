"""Orchestra state: the store, its paths and the state CLIs."""
