"""`python -m omemo_desktop` starts the GUI."""

from omemo_desktop.app import main

raise SystemExit(main())
