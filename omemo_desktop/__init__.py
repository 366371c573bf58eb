"""omemo-desktop: a desktop XMPP messenger with OMEMO end-to-end encryption."""

__version__ = "0.1.0"
