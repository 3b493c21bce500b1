"""The command line: :mod:`.main` parses and maps errors to exit codes; one module per area in
:mod:`.commands`."""
