"""Entry point of the frozen app: one binary, two front ends.

The .deb links /usr/bin/omemo-desktop-cli to the same binary; the name it was started under
picks the front end, so the bundle holds one copy of Python and Qt instead of two.
"""

import os
import sys


def _front_end() -> str:
    name = os.path.basename(sys.argv[0]).lower()
    return "cli" if name.removesuffix(".exe").endswith("-cli") else "gui"


if _front_end() == "cli":
    from omemo_desktop.cli import main
else:
    from omemo_desktop.app import main

raise SystemExit(main())
