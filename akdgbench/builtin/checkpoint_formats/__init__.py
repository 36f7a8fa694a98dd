"""Built-in teacher checkpoint formats (``--teacher-checkpoint NAME:PATH``)."""
