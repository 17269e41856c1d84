"""Root-key providers (KMS) behind one small protocol.

A provider holds the root of the key hierarchy and never hands it out: it only wraps and
unwraps the key-encryption keys below it. Shipped: :class:`LocalKeyFile` (a random root key in
a passphrase-wrapped file) and :class:`Pkcs11Root` (a non-extractable AES key in a PKCS#11
token, such as an HSM). :func:`open_root` and :func:`create_root` pick one from a vault's
``[kms]`` settings.
"""

from strongroom.crypto.kms._factory import create_root, open_root, read_pin
from strongroom.crypto.kms._local import LocalKeyFile, create_key_file
from strongroom.crypto.kms._pkcs11 import Pkcs11Root, create_pkcs11_key
from strongroom.crypto.kms._protocol import RootKeyProvider

__all__ = [
    "LocalKeyFile",
    "Pkcs11Root",
    "RootKeyProvider",
    "create_key_file",
    "create_pkcs11_key",
    "create_root",
    "open_root",
    "read_pin",
]
