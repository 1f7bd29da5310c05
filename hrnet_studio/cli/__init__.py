"""The ``hrnet-studio`` command line: ``main.py`` parses and dispatches, ``common.py`` holds what every command
shares (messages, model and runtime flags, the pipeline choice), and each command has a module of its own."""
