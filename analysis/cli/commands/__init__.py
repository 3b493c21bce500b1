"""CLI subcommands, one module per area. Each has ``register(commands, fetch_commands)``
and thin ``run_*`` functions that parse, call the library and print."""
