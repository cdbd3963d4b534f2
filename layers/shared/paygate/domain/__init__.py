"""Pure domain rules: validation and state transitions, no I/O."""
