"""All PySide6 code of the desk."""
