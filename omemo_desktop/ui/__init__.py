"""The desktop GUI: PySide6 widgets over the service API (omemo_desktop.service.api only)."""
