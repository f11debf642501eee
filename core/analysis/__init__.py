"""Layer 3, analysis: what the explorer measures on one network (dynamics, context, modifiers, position, error
analysis), and `api`, the cached entry points the CLI and the pages call."""
