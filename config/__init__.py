"""The plant file: its schema by section, the YAML loader (file:line errors, ${VAR}), the example plants."""
