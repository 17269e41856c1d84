"""The PKCS#11 KMS provider: the root key is a non-extractable AES-256 key inside an HSM token.

The root key never leaves the token: every wrap and unwrap is one ``C_Encrypt`` /
``C_Decrypt`` call with ``CKM_AES_GCM`` inside it. Wrapped key (bytes)::

    0x01 (layout version) ‖ iv (12 bytes, random) ‖ AES-256-GCM ciphertext ‖ tag (16 bytes)

The AAD given to the token is ``b"strongroom/kms-pkcs11/v1\\x00" ‖ aad``, so a wrapped key
moved to another row does not open. The IV comes from this process (``os.urandom``); with
random 96-bit IVs one key stays within NIST SP 800-38D's bound for 2^32 wraps, and the root
only wraps key-encryption keys and service keys (a handful per region and collection).

Key id (public, stable across opens, 32 hex characters)::

    SHA-256("strongroom/kms-pkcs11/key-id/v1\\x00" ‖ token serial ‖ 0x00 ‖ key label
            ‖ 0x00 ‖ CKA_ID)[:16].hex()

Processes and threads: one logged-in session per (module, slot) and process, shared by every
:class:`Pkcs11Root` on that token (PKCS#11 login state is per process, and ``C_Logout`` on one
session would log out all of them: sessions are never closed here). Token calls on a session
hold its lock. After ``fork`` the child re-initialises the module (``C_Finalize`` +
``C_Initialize``, PKCS#11 v2.40 §5.3: a child must not use its parent's sessions) and logs in
again on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import random
import threading
import time
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11

from strongroom.crypto.hazmat import random_bytes
from strongroom.errors import KeyringError

_WRAP_AAD = b"strongroom/kms-pkcs11/v1\x00"
_KEY_ID_DOMAIN = b"strongroom/kms-pkcs11/key-id/v1\x00"
_LAYOUT = b"\x01"
_IV_BYTES = 12
_TAG_BYTES = 16
_KEY_BYTES = 32

#: errors after which the session (not the wrapped key) is at fault: reconnect once, retry
_STALE = (
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.DeviceRemoved,
    p11.TokenNotPresent,
    p11.UserNotLoggedIn,
    p11.ObjectHandleInvalid,
    p11.KeyHandleInvalid,
)
#: errors a token can give while another process writes it (SoftHSM2): try again
_TRANSIENT = (p11.NoSuchToken, p11.GeneralError, p11.TokenNotRecognised, p11.FunctionFailed)
_RETRY_DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
_PIN_ERRORS: dict[type[Exception], str] = {
    p11.PinIncorrect: "refused the PIN (wrong PIN)",
    p11.PinLocked: "has locked its user PIN (too many wrong attempts); unlock it with the SO PIN",
    p11.PinExpired: "says the user PIN has expired; change it first",
    p11.PinInvalid: "refused the PIN (invalid characters)",
    p11.PinLenRange: "refused the PIN (wrong length)",
    p11.UserPinNotInitialized: "has no user PIN yet; initialise it first",
}


class _Conn:
    """One logged-in read-write session on a token, shared in this process."""

    __slots__ = ("label", "lock", "pid", "pin_tag", "serial", "session")

    def __init__(self, session: Any, label: str, serial: bytes, pin_tag: bytes) -> None:
        self.session = session
        self.label = label
        self.serial = serial
        self.pin_tag = pin_tag
        self.pid = os.getpid()
        self.lock = threading.Lock()


_lock = threading.Lock()  # guards the two tables below; replaced in a forked child
_libs: dict[str, tuple[int, Any]] = {}  # module path -> (pid that initialised it, lib)
_conns: dict[tuple[str, int], _Conn] = {}  # (module path, slot id) -> session
_pin_salt = os.urandom(32)  # PINs are compared through a keyed hash, never kept in tables


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a thread of the parent may have held it at the fork
    _conns.clear()  # the parent's sessions: never used in the child


os.register_at_fork(after_in_child=_after_fork_in_child)


def _pin_tag(pin: str) -> bytes:
    return hmac.new(_pin_salt, pin.encode("utf-8"), hashlib.sha256).digest()


def _lib(module: str) -> Any:
    """The loaded module, initialised in this process (re-initialised after a fork)."""
    pid = os.getpid()
    hit = _libs.get(module)
    if hit is not None and hit[0] == pid:
        return hit[1]
    try:
        lib = pkcs11.lib(module)
        if hit is not None:  # loaded by the parent before a fork
            # some modules detect the fork themselves and are already uninitialised
            with contextlib.suppress(p11.PKCS11Error):
                lib.finalize()
            lib.initialize()
    except p11.PKCS11Error as exc:
        raise KeyringError(f"cannot load the PKCS#11 module {module}: {exc}") from exc
    _libs[module] = (pid, lib)
    return lib


def _token(lib: Any, module: str, token_label: str | None, slot: int | None) -> Any:
    where = f"in slot {slot}" if slot is not None else f"labelled {token_label!r}"
    try:
        if slot is None:
            return lib.get_token(token_label=token_label)
        for s in lib.get_slots(token_present=True):
            if s.slot_id == slot:
                token = s.get_token()
                if token_label is not None and token.label != token_label:
                    raise KeyringError(
                        f"the PKCS#11 token in slot {slot} is labelled {token.label!r}, "
                        f"not {token_label!r}"
                    )
                return token
        raise p11.NoSuchToken(where)
    except p11.NoSuchToken as exc:
        raise KeyringError(f"no PKCS#11 token {where} in {module}") from exc
    except p11.MultipleTokensReturned as exc:
        raise KeyringError(f"more than one PKCS#11 token {where} in {module}; give a slot") from exc
    except p11.PKCS11Error as exc:
        raise KeyringError(f"cannot list the PKCS#11 tokens of {module}: {exc!r}") from exc


def _connect(module: str, token_label: str | None, slot: int | None, pin: str) -> _Conn:
    """This process's session on the token, logging in on first use (call with ``_lock``).

    A token that is missing or fails while several processes log in at once is tried again
    a few times, re-initialising the module while this process has no session on it:
    SoftHSM2's file store can fail to read a token another process is writing (each login
    writes its token file; upstream issue softhsm/SoftHSMv2#757), as forked workers do.
    """
    for delay in _RETRY_DELAYS:
        try:
            return _connect_once(module, token_label, slot, pin)
        except KeyringError as exc:
            if not isinstance(exc.__cause__, _TRANSIENT):
                raise
        time.sleep(delay * (1 + random.random()))  # noqa: S311 - jitter, not a secret
        if not any(k[0] == module for k in _conns):
            with contextlib.suppress(p11.PKCS11Error):
                _lib(module).finalize()
            with contextlib.suppress(p11.PKCS11Error):
                _lib(module).initialize()
    return _connect_once(module, token_label, slot, pin)


def _connect_once(module: str, token_label: str | None, slot: int | None, pin: str) -> _Conn:
    token = _token(_lib(module), module, token_label, slot)
    key = (module, int(token.slot.slot_id))
    tag = _pin_tag(pin)
    conn = _conns.get(key)
    if conn is not None and conn.pid == os.getpid():
        # the token checked a PIN at this process's login; a second, different one is wrong
        if not hmac.compare_digest(conn.pin_tag, tag):
            raise KeyringError(f"the PKCS#11 token {token.label!r} refused the PIN (wrong PIN)")
        return conn
    try:
        try:
            session = token.open(user_pin=pin, rw=True)
        except p11.UserAlreadyLoggedIn:
            # another library in this process logged in to the token: its login is shared
            session = token.open(rw=True)
    except tuple(_PIN_ERRORS) as exc:
        raise KeyringError(
            f"the PKCS#11 token {token.label!r} {_PIN_ERRORS[type(exc)]}"
        ) from None  # the PKCS#11 exception carries nothing more; never the PIN
    except p11.PKCS11Error as exc:
        raise KeyringError(f"cannot log in to the PKCS#11 token {token.label!r}: {exc!r}") from exc
    conn = _Conn(session, str(token.label), bytes(token.serial), tag)
    _conns[key] = conn
    return conn


def _drop(conn: _Conn) -> None:
    with _lock:
        for k, v in list(_conns.items()):
            if v is conn:
                del _conns[k]


def _key_id(conn: _Conn, key_label: str, cka_id: bytes) -> str:
    """The public root key id (see the module docstring)."""
    digest = hashlib.sha256(
        _KEY_ID_DOMAIN + conn.serial + b"\x00" + key_label.encode("utf-8") + b"\x00" + cka_id
    )
    return digest.digest()[:16].hex()


def _find_key(conn: _Conn, key_label: str, key_id: str | None = None) -> Any | None:
    """The AES key labelled ``key_label``; with ``key_id``, the one of that id among the
    keys of that label (a rotated root shares its label with the keys it replaced)."""
    with conn.lock:
        try:
            keys = list(
                conn.session.get_objects(
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.KEY_TYPE: KeyType.AES,
                        Attribute.LABEL: key_label,
                    }
                )
            )
            ids = [bytes(k[Attribute.ID] or b"") for k in keys]
        except p11.PKCS11Error as exc:
            raise KeyringError(f"cannot search the PKCS#11 token {conn.label!r}: {exc!r}") from exc
    if key_id is not None:
        found = [k for k, i in zip(keys, ids, strict=True) if _key_id(conn, key_label, i) == key_id]
        return found[0] if found else None
    if len(keys) > 1:
        raise KeyringError(
            f"more than one AES key labelled {key_label!r} in PKCS#11 token "
            f"{conn.label!r}; labels of root keys must be unique (or name the key by its id)"
        )
    return keys[0] if keys else None


def _check_key(conn: _Conn, key: Any, key_label: str) -> bytes:
    """Refuse a key that could leave the token or cannot do the job; returns its CKA_ID."""
    what = f"the key {key_label!r} in PKCS#11 token {conn.label!r}"
    with conn.lock:
        try:
            a = {
                attr: key[attr]
                for attr in (
                    Attribute.EXTRACTABLE,
                    Attribute.SENSITIVE,
                    Attribute.TOKEN,
                    Attribute.ENCRYPT,
                    Attribute.DECRYPT,
                    Attribute.VALUE_LEN,
                    Attribute.ID,
                )
            }
        except p11.PKCS11Error as exc:
            raise KeyringError(f"cannot read the attributes of {what}: {exc!r}") from exc
    if a[Attribute.EXTRACTABLE] or not a[Attribute.SENSITIVE]:
        raise KeyringError(f"{what} is extractable or not sensitive; refusing it as a root key")
    if not a[Attribute.TOKEN]:
        raise KeyringError(f"{what} is a session object, not stored in the token")
    if not (a[Attribute.ENCRYPT] and a[Attribute.DECRYPT]):
        raise KeyringError(f"{what} may not encrypt and decrypt (CKA_ENCRYPT, CKA_DECRYPT)")
    if a[Attribute.VALUE_LEN] != _KEY_BYTES:
        raise KeyringError(f"{what} is not an AES-256 key")
    return bytes(a[Attribute.ID] or b"")


def create_pkcs11_key(
    module: str, token_label: str | None, key_label: str, pin: str, *, slot: int | None = None
) -> bool:
    """Generate the root key in the token unless ``key_label`` already names one.

    The key is AES-256 with CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true and CKA_EXTRACTABLE,
    CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_VERIFY, CKA_DERIVE false: it can only encrypt and
    decrypt inside the token. Returns whether it was created (an existing key is checked the
    same way :class:`Pkcs11Root` checks it).
    """
    if not key_label:
        raise KeyringError("the PKCS#11 key label is empty")
    with _lock:
        conn = _connect(module, token_label, slot, pin)
        existing = _find_key(conn, key_label)
        if existing is not None:
            _check_key(conn, existing, key_label)
            return False
        _generate(conn, key_label)
    return True


def create_rotated_pkcs11_key(
    module: str, token_label: str | None, key_label: str, pin: str, *, slot: int | None = None
) -> str:
    """Generate a new root key in the token under the same ``key_label`` as the current
    one, with a new random ``CKA_ID`` (root rotation: the vault names the key by its id).
    Returns the new key's id."""
    if not key_label:
        raise KeyringError("the PKCS#11 key label is empty")
    with _lock:
        conn = _connect(module, token_label, slot, pin)
        return _key_id(conn, key_label, _generate(conn, key_label))


def _generate(conn: _Conn, key_label: str) -> bytes:
    """A new root key (attributes as in :func:`create_pkcs11_key`); returns its CKA_ID."""
    cka_id = random_bytes(16)
    with conn.lock:
        try:
            conn.session.generate_key(
                KeyType.AES,
                _KEY_BYTES * 8,
                id=cka_id,
                label=key_label,
                store=True,
                template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                    Attribute.WRAP: False,
                    Attribute.UNWRAP: False,
                    Attribute.SIGN: False,
                    Attribute.VERIFY: False,
                    Attribute.DERIVE: False,
                },
            )
        except p11.PKCS11Error as exc:
            raise KeyringError(
                f"the PKCS#11 token {conn.label!r} could not generate the key "
                f"{key_label!r}: {exc!r}"
            ) from exc
    return cka_id


class Pkcs11Root:
    """The root key as a handle on a non-extractable AES key in a PKCS#11 token.

    ``token_label`` or ``slot`` (or both, then they must agree) name the token; ``key_id``
    picks one of several keys labelled ``key_label`` (a rotated root). Wrong PIN, missing
    module, token or key raise :class:`~strongroom.errors.KeyringError`.
    """

    __slots__ = (
        "_cka_id", "_key_id", "_key_label", "_module", "_pin", "_slot", "_state",
        "_token_label", "_wanted",
    )  # fmt: skip

    def __init__(
        self,
        module: str,
        token_label: str | None,
        key_label: str,
        pin: str,
        *,
        slot: int | None = None,
        key_id: str | None = None,
    ) -> None:
        if token_label is None and slot is None:
            raise KeyringError("a PKCS#11 root key needs a token label or a slot")
        if not key_label:
            raise KeyringError("the PKCS#11 key label is empty")
        self._module = module
        self._token_label = token_label
        self._slot = slot
        self._key_label = key_label
        self._pin = pin
        self._wanted = key_id
        self._state: tuple[int, _Conn, Any] | None = None
        conn, key = self._handle()
        self._cka_id = _check_key(conn, key, key_label)
        self._key_id = _key_id(conn, key_label, self._cka_id)

    def _handle(self) -> tuple[_Conn, Any]:
        """This process's session and key object (opened again after a fork)."""
        state = self._state
        if state is not None and state[0] == os.getpid():
            return state[1], state[2]
        with _lock:
            conn = _connect(self._module, self._token_label, self._slot, self._pin)
            key = _find_key(conn, self._key_label, self._wanted)
        if key is None:
            which = "" if self._wanted is None else f" with key id {self._wanted}"
            raise KeyringError(
                f"no AES key labelled {self._key_label!r}{which} in PKCS#11 token "
                f"{conn.label!r} (create it with 'strongroom init --kms pkcs11')"
            )
        self._state = (os.getpid(), conn, key)
        return conn, key

    def _call(self, op: str, data: bytes, iv: bytes, aad: bytes) -> bytes:
        params = pkcs11.GCMParams(iv, _WRAP_AAD + aad, _TAG_BYTES * 8)
        for attempt in (1, 2):
            conn, key = self._handle()
            try:
                with conn.lock:
                    fn = key.encrypt if op == "encrypt" else key.decrypt
                    out = fn(data, mechanism=Mechanism.AES_GCM, mechanism_param=params)
                return bytes(out)
            except _STALE as exc:
                # the session went away (token reset, removed, logged out): log in again once
                _drop(conn)
                self._state = None
                if attempt == 2:
                    raise KeyringError(
                        f"the PKCS#11 token {conn.label!r} is not reachable: {exc!r}"
                    ) from exc
            except p11.PKCS11Error as exc:
                if op == "decrypt":  # a bad tag is CKR_ENCRYPTED_DATA_INVALID or a general error
                    raise KeyringError("a wrapped key does not open under the root key") from None
                raise KeyringError(f"the PKCS#11 token could not wrap a key: {exc!r}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def object_name(self) -> str:
        """How the token's tools name the key: its label and ``CKA_ID`` (hex, public)."""
        return f"label {self._key_label!r}, CKA_ID {self._cka_id.hex()}"

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        iv = random_bytes(_IV_BYTES)
        return _LAYOUT + iv + self._call("encrypt", plaintext, iv, aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        if len(wrapped) < 1 + _IV_BYTES + _TAG_BYTES or wrapped[:1] != _LAYOUT:
            raise KeyringError("a wrapped key does not open under the root key")
        iv = wrapped[1 : 1 + _IV_BYTES]
        return self._call("decrypt", wrapped[1 + _IV_BYTES :], iv, aad)

    def __repr__(self) -> str:
        token = self._token_label if self._token_label is not None else f"slot {self._slot}"
        return (
            f"Pkcs11Root(key_id={self._key_id!r}, token={token!r}, "
            f"key={self._key_label!r}, pin=<redacted>)"
        )

    def __reduce__(self) -> Any:
        raise TypeError("key handles cannot be pickled")
