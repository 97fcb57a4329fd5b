"""HTTP app, CLI and the settings object read at these entry points."""
