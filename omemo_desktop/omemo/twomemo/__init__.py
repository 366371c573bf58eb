"""OMEMO 2 (XEP-0384 version 0.9, namespace ``urn:xmpp:omemo:2``): the pure protocol core.

Start at :mod:`.engine` (the facade the service calls). Wire format: :mod:`.wire`; ratchet
profile: :mod:`.profile`; X3DH, bundles and own pre-keys: :mod:`.x3dh`; sessions and state
blobs: :mod:`.session`; payload crypto: :mod:`.payload`; labels: :mod:`.labels`; opt-out:
:mod:`.optout`.
"""

from typing import Final

NAMESPACE: Final = "urn:xmpp:omemo:2"
