"""One module per command: parse the options, call the library, render with ``views``."""
