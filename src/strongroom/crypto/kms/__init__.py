"""Root-key providers (KMS) behind one small protocol.

A provider holds the root of the key hierarchy and never hands it out: it only wraps and
unwraps the key-encryption keys below it. Shipped: :class:`LocalKeyFile` (a random root key in
a passphrase-wrapped file). A PKCS#11 HSM provider arrives with the key-lifecycle work.
"""

from strongroom.crypto.kms._local import LocalKeyFile, create_key_file
from strongroom.crypto.kms._protocol import RootKeyProvider

__all__ = ["LocalKeyFile", "RootKeyProvider", "create_key_file"]
