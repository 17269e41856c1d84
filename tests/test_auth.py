"""Principals, API tokens, OIDC bearer JWTs, the failure throttle and the Authenticator.

Stores run on SQLite and PostgreSQL (the ``vault`` fixture; migration r0002 runs in
``Vault.init``). OIDC tokens are minted here with keys made in the test (pyca ``cryptography``,
not the library under test) and the JWKS is served by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import strongroom.auth
from strongroom import Vault
from strongroom.auth import (
    MAX_TOKEN_TTL,
    ROLES,
    AuthenticationError,
    Authenticator,
    AuthError,
    FailureLimiter,
    JwksUnavailableError,
    OidcVerifier,
    Principal,
    PrincipalStore,
    RateLimitedError,
    TokenInfo,
    TokenStore,
    auth_metadata,
)
from strongroom.errors import (
    ConfigError,
    ConflictError,
    KeyringError,
    NotFoundError,
    StrongroomError,
    ValidationError,
)

HASH_KEY = bytes(range(32))
T0 = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
SUBJECT = hashlib.sha256(b"test subject token").digest()


class Clock:
    """A settable wall clock for the stores."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class Ticks:
    """A settable float clock (seconds) for the limiter and the OIDC verifier."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
def engine(vault: Vault) -> sa.Engine:
    return vault.engines()[0]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def people(engine: sa.Engine, clock: Clock) -> PrincipalStore:
    store = PrincipalStore(engine, _clock=clock)
    store.add("officer-1", roles={"investigator"}, unit="A110105", home_region="110000")
    store.add("ops-bot", kind="service", roles={"admin"})
    return store


@pytest.fixture
def tokens(engine: sa.Engine, clock: Clock, people: PrincipalStore) -> TokenStore:
    return TokenStore(engine, HASH_KEY, _clock=clock)


def _offline_store() -> PrincipalStore:
    # validation happens before any database access: an engine that is never connected
    return PrincipalStore(sa.create_engine("sqlite://"))


# -- the public surface and the migration ------------------------------------------------------
def test_public_names() -> None:
    assert sorted(strongroom.auth.__all__) == sorted(
        [
            "MAX_LEEWAY_SECONDS",
            "MAX_TOKEN_TTL",
            "OIDC_ALGORITHMS",
            "PRINCIPAL_KINDS",
            "ROLES",
            "AuthError",
            "AuthenticationError",
            "Authenticator",
            "FailureLimiter",
            "JwksUnavailableError",
            "OidcVerifier",
            "Principal",
            "PrincipalStore",
            "RateLimitedError",
            "TokenInfo",
            "TokenStore",
            "api_tokens",
            "auth_metadata",
            "principal_cases",
            "principals",
        ]
    )
    for name in strongroom.auth.__all__:
        assert getattr(strongroom.auth, name) is not None


def test_errors_have_exit_code_10_and_a_generic_authentication_message() -> None:
    for cls in (AuthError, AuthenticationError, RateLimitedError, JwksUnavailableError):
        assert issubclass(cls, StrongroomError) and cls.exit_code == 10
    err = AuthenticationError("expired api token")
    assert str(err) == err.diagnostics() == "authentication failed"
    assert err.reason == "expired api token"
    assert RateLimitedError(7).retry_after == 7


def _only_auth_tables(obj: Any, name: Any, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", None) in auth_metadata.tables


def test_migration_r0002_creates_exactly_the_auth_tables(engine: sa.Engine) -> None:
    ours = set(auth_metadata.tables)
    assert ours == {"principals", "principal_cases", "api_tokens"}
    assert ours <= set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _only_auth_tables}
        )
        diff = [d for d in compare_metadata(ctx, auth_metadata) if d[0] != "remove_table"]
    assert diff == []
    from strongroom.store import RECORDS, is_current

    assert is_current(engine, RECORDS)  # r0002 and every later migration applied


# -- principals --------------------------------------------------------------------------------
def test_add_and_get_a_principal(engine: sa.Engine, clock: Clock) -> None:
    store = PrincipalStore(engine, _clock=clock)
    added = store.add(
        "officer-7",
        roles=["investigator", "call_taker"],
        unit="A110105",
        home_region=" 110000 ",
        case_refs=["A110105-2030-000001", "Ｃ-2"],  # noqa: RUF001 - full-width on purpose
    )
    got = store.get("officer-7")
    assert got == added
    assert got == Principal(
        id="officer-7",
        kind="user",
        roles=frozenset({"investigator", "call_taker"}),
        unit="A110105",
        home_region="110000",
        case_refs=frozenset({"A110105-2030-000001", "C-2"}),
        citizen_subject=None,
        disabled=False,
        created_at=T0,
    )
    assert got.has_role("investigator") and not got.has_role("admin")


def test_a_citizen_is_bound_to_an_opaque_subject_token(engine: sa.Engine) -> None:
    store = PrincipalStore(engine)
    p = store.add("citizen-1", roles={"citizen"}, citizen_subject=SUBJECT.hex())
    assert store.get("citizen-1").citizen_subject == SUBJECT == p.citizen_subject
    assert SUBJECT.hex() not in repr(p)


def test_list_disable_and_case_assignment(people: PrincipalStore) -> None:
    assert [p.id for p in people.list()] == ["officer-1", "ops-bot"]
    people.add("auditor-1", roles={"auditor"})
    assert [p.id for p in people.list()] == ["auditor-1", "officer-1", "ops-bot"]

    assert people.disable("ops-bot").disabled
    assert people.disable("ops-bot").disabled  # idempotent
    assert people.get("ops-bot").disabled
    assert [p.id for p in people.list(include_disabled=False)] == ["auditor-1", "officer-1"]

    assert people.assign_case("officer-1", "K-1").case_refs == {"K-1"}
    assert people.assign_case("officer-1", "K-1").case_refs == {"K-1"}  # idempotent
    assert people.assign_case("officer-1", "K-2").case_refs == {"K-1", "K-2"}
    assert {p.id: p.case_refs for p in people.list()}["officer-1"] == {"K-1", "K-2"}
    assert people.unassign_case("officer-1", "K-1").case_refs == {"K-2"}
    assert people.unassign_case("officer-1", "K-1").case_refs == {"K-2"}


def test_unknown_principals_raise_not_found(people: PrincipalStore) -> None:
    for call in (
        lambda: people.get("nobody"),
        lambda: people.disable("nobody"),
        lambda: people.assign_case("nobody", "K-1"),
        lambda: people.unassign_case("nobody", "K-1"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_a_taken_id_is_a_conflict(people: PrincipalStore) -> None:
    with pytest.raises(ConflictError) as exc:
        people.add("officer-1", roles={"auditor"})
    assert [e.field for e in exc.value.errors] == ["id"]
    assert people.get("officer-1").roles == {"investigator"}


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"principal_id": "Officer"}, ["id"]),
        ({"principal_id": "oidc:abc"}, ["id"]),
        ({"principal_id": "someone@example.org"}, ["id"]),
        ({"principal_id": ""}, ["id"]),
        ({"principal_id": "x" * 65}, ["id"]),
        ({"roles": set()}, ["roles"]),
        ({"roles": {"root"}}, ["roles"]),
        ({"roles": "admin"}, ["roles"]),
        ({"kind": "robot"}, ["kind"]),
        ({"unit": "A 1"}, ["unit"]),
        ({"home_region": "x"}, ["home_region"]),
        ({"case_refs": ["bad ref"]}, ["case_refs"]),
        ({"roles": {"citizen"}}, ["citizen_subject"]),
        ({"citizen_subject": SUBJECT}, ["citizen_subject"]),
        ({"roles": {"citizen", "analyst"}, "citizen_subject": SUBJECT}, ["roles"]),
        ({"roles": {"citizen"}, "kind": "service", "citizen_subject": SUBJECT}, ["kind"]),
        ({"roles": {"citizen"}, "citizen_subject": b"11010519491231002X"}, ["citizen_subject"]),
        ({"roles": {"citizen"}, "citizen_subject": b"short"}, ["citizen_subject"]),
        ({"roles": {"citizen"}, "citizen_subject": "not hex"}, ["citizen_subject"]),
        ({"principal_id": "B", "roles": {"root"}, "unit": "?"}, ["id", "roles", "unit"]),
    ],
    ids=lambda v: json.dumps(v, default=str)[:48] if isinstance(v, dict) else None,
)
def test_bad_principal_input_names_each_field(kwargs: dict[str, Any], fields: list[str]) -> None:
    args: dict[str, Any] = {"principal_id": "p-1", "roles": {"investigator"}, **kwargs}
    with pytest.raises(ValidationError) as exc:
        _offline_store().add(args.pop("principal_id"), **args)
    assert [e.field for e in exc.value.errors] == fields
    assert "11010519491231002X" not in str(exc.value)


def test_roles_are_the_issue_roles() -> None:
    assert {
        "call_taker",
        "investigator",
        "supervisor",
        "auditor",
        "admin",
        "citizen",
        "analyst",
        "approver",  # the guard issue: decides grants for protected persons
    } == ROLES


# -- API tokens --------------------------------------------------------------------------------
def _secret_of(token: str) -> bytes:
    return base64.b32decode(token.split("_")[2].upper() + "====")


def test_issue_and_verify(tokens: TokenStore) -> None:
    token, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    assert token.startswith(f"sr_{info.id}_") and len(token) == 64
    assert len(_secret_of(token)) == 32  # 256 bits
    assert info == TokenInfo(info.id, "officer-1", "laptop", T0, T0 + timedelta(hours=1), None)
    principal = tokens.verify(token)
    assert principal.id == "officer-1" and principal.roles == {"investigator"}
    assert principal.unit == "A110105" and principal.home_region == "110000"
    # two tokens never share a secret or a prefix
    other, other_info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    assert other != token and other_info.id != info.id


def test_the_token_is_shown_once_and_never_listed(tokens: TokenStore, clock: Clock) -> None:
    token, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    clock.advance(timedelta(seconds=1))
    tokens.issue("ops-bot", "deploy", timedelta(days=30))
    listed = tokens.list()
    assert len(listed) == 2 and listed[0] == info  # oldest first
    assert tokens.list("officer-1") == [info]
    assert {f for f in TokenInfo.__dataclass_fields__} == {
        "id",
        "principal_id",
        "name",
        "created_at",
        "expires_at",
        "revoked_at",
    }
    secret_text = token.split("_")[2]
    for t in listed:
        assert secret_text not in repr(t) and token not in repr(t)


def _all_values(engine: sa.Engine) -> list[Any]:
    meta = sa.MetaData()
    meta.reflect(engine)
    out: list[Any] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(sa.select(table)):
                out.extend(row)
    return out


def _files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, fs in os.walk(root) for f in fs]


def test_the_database_holds_only_the_keyed_hash(
    vault: Vault,
    tokens: TokenStore,
    backend: str,
    vault_dirs: tuple[Path, Path],
    request: pytest.FixtureRequest,
) -> None:
    token, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    secret = _secret_of(token)
    digest = hmac.new(HASH_KEY, secret, "sha256").digest()
    needles = [token.encode(), token.split("_")[2].encode(), token.split("_")[2].upper().encode()]
    needles.append(secret)

    # every row of every table, in both databases
    values = [v for e in vault.engines() for v in _all_values(e)]
    as_bytes = [bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in values]
    for needle in needles:
        assert not any(needle in v for v in as_bytes)
    assert digest in as_bytes and info.id.encode() in as_bytes
    assert HASH_KEY not in as_bytes

    # every file the databases wrote (PostgreSQL: this database's files and the WAL)
    vault.close()
    roots = [vault_dirs[0]]
    if backend == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        with vault.engines()[0].connect() as conn:
            oid = conn.execute(
                sa.text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
        vault.engines()[0].dispose()
        cluster.checkpoint()
        roots = [cluster.datadir / "base" / str(oid), cluster.datadir / "pg_wal"]
    blob = b"".join(p.read_bytes() for root in roots for p in _files(root))
    for needle in needles:
        assert needle not in blob
    assert digest in blob


def test_expiry_follows_the_injected_clock(tokens: TokenStore, clock: Clock) -> None:
    token, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    assert tokens.verify(token, now=T0 + timedelta(minutes=59, seconds=59)).id == "officer-1"
    with pytest.raises(AuthenticationError) as exc:
        tokens.verify(token, now=info.expires_at)
    assert exc.value.reason == "expired api token"
    clock.advance(timedelta(minutes=30))
    assert tokens.verify(token).id == "officer-1"
    clock.advance(timedelta(minutes=31))
    with pytest.raises(AuthenticationError):
        tokens.verify(token)
    assert not tokens.list()[0].is_active(clock.now)


def test_revocation_takes_effect_at_once(tokens: TokenStore, clock: Clock) -> None:
    token, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    keep, _ = tokens.issue("officer-1", "desktop", timedelta(hours=1))
    assert tokens.verify(token).id == "officer-1"
    clock.advance(timedelta(minutes=1))
    revoked = tokens.revoke(info.id)
    assert revoked.revoked_at == T0 + timedelta(minutes=1)
    with pytest.raises(AuthenticationError) as exc:
        tokens.verify(token)
    assert exc.value.reason == "revoked api token"
    assert tokens.verify(keep).id == "officer-1"  # only that token
    clock.advance(timedelta(minutes=1))
    assert tokens.revoke(info.id).revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(NotFoundError):
        tokens.revoke("aaaaaaaa")
    with pytest.raises(ValidationError) as bad:
        tokens.revoke(token)  # the id, not the token
    assert bad.value.errors[0].field == "token_id" and token not in str(bad.value)


def test_a_disabled_principal_cannot_authenticate_or_get_tokens(
    tokens: TokenStore, people: PrincipalStore
) -> None:
    token, _ = tokens.issue("ops-bot", "deploy", timedelta(hours=1))
    assert tokens.verify(token).id == "ops-bot"
    people.disable("ops-bot")
    with pytest.raises(AuthenticationError) as exc:
        tokens.verify(token)
    assert exc.value.reason == "api token of a disabled principal"
    with pytest.raises(ValidationError) as bad:
        tokens.issue("ops-bot", "deploy", timedelta(hours=1))
    assert bad.value.errors[0].field == "principal_id"
    with pytest.raises(NotFoundError):
        tokens.issue("nobody", "deploy", timedelta(hours=1))


def _flip_last(token: str) -> str:
    return token[:-1] + ("a" if token[-1] != "a" else "b")


def test_wrong_unknown_and_malformed_tokens_fail_alike(tokens: TokenStore) -> None:
    token, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    secret = token.split("_")[2]
    other = "a" * 52 if secret != "a" * 52 else "b" * 52
    cases = [
        (f"sr_{info.id}_{other}", "wrong api token secret"),
        (f"sr_{'a' * 8 if info.id != 'a' * 8 else 'b' * 8}_{secret}", "unknown api token"),
        ("", "malformed api token"),
        ("sr_", "malformed api token"),
        (token[:-1], "malformed api token"),
        (token + "a", "malformed api token"),
        (token.upper(), "malformed api token"),
        (token.replace("_", "-"), "malformed api token"),
        (f"xx_{info.id}_{secret}", "malformed api token"),
    ]
    for bad, reason in cases:
        with pytest.raises(AuthenticationError) as exc:
            tokens.verify(bad)
        assert exc.value.reason == reason
        assert str(exc.value) == "authentication failed"


def test_non_canonical_base32_is_refused(tokens: TokenStore) -> None:
    token, _ = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    last = alphabet.index(token[-1])
    # 52 characters carry 260 bits: the last character's low 4 bits are padding
    variant = token[:-1] + alphabet[last ^ 0b0001]
    assert base64.b32decode(variant.split("_")[2].upper() + "====") == _secret_of(token)
    with pytest.raises(AuthenticationError) as exc:
        tokens.verify(variant)
    assert exc.value.reason == "malformed api token"


def test_the_hash_comparison_is_constant_time(
    tokens: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    tokens.verify(token)
    with pytest.raises(AuthenticationError):
        tokens.verify(token[: -len("a" * 52)] + "a" * 52)
    assert len(calls) == 2
    assert all(len(a) == len(b) == 32 for a, b in calls)


def test_token_input_is_validated(tokens: TokenStore) -> None:
    for ttl in (timedelta(0), timedelta(seconds=-1), MAX_TOKEN_TTL + timedelta(seconds=1), 3600):
        with pytest.raises(ValidationError) as exc:
            tokens.issue("officer-1", "laptop", ttl)  # type: ignore[arg-type]
        assert exc.value.errors[0].field == "ttl"
    for name in ("", " ", "x" * 65, "tab\there"):
        with pytest.raises(ValidationError) as exc:
            tokens.issue("officer-1", name, timedelta(hours=1))
        assert exc.value.errors[0].field == "name"
    good, _ = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    with pytest.raises(ValidationError) as exc:
        tokens.verify(good, now=datetime(2030, 1, 1))  # naive: refused
    assert exc.value.errors[0].field == "now"
    with pytest.raises(ValidationError):
        tokens.list("Not An Id")


def test_prefix_collisions_draw_again(engine: sa.Engine, people: PrincipalStore) -> None:
    draws = [b"\x00" * 5, b"\x01" * 32, b"\x00" * 5, b"\x02" * 32, b"\x03" * 5, b"\x04" * 32]
    store = TokenStore(engine, HASH_KEY, _random=lambda n: draws.pop(0))
    first, a = store.issue("officer-1", "a", timedelta(hours=1))
    second, b = store.issue("officer-1", "b", timedelta(hours=1))
    assert a.id == "aaaaaaaa" and b.id != a.id and draws == []
    assert store.verify(first).id == store.verify(second).id == "officer-1"


def test_the_hash_key_is_checked_and_kept_out_of_sight(engine: sa.Engine) -> None:
    for bad in (b"", b"k" * 31, b"k" * 33, "k" * 32):
        with pytest.raises(KeyringError):
            TokenStore(engine, bad)  # type: ignore[arg-type]
    store = TokenStore(engine, HASH_KEY)
    assert HASH_KEY.hex() not in repr(store) and repr(HASH_KEY) not in repr(store)
    with pytest.raises(TypeError):
        pickle.dumps(store)


# -- the failure throttle ----------------------------------------------------------------------
def test_the_limiter_refuses_after_max_failures_in_the_window() -> None:
    ticks = Ticks(1000.0)
    limiter = FailureLimiter(max_failures=10, per_seconds=60, clock=ticks)
    for i in range(10):
        limiter.check("192.0.2.1")
        ticks.now = 1000.0 + i
        limiter.record_failure("192.0.2.1")
    ticks.now = 1009.5
    with pytest.raises(RateLimitedError) as exc:
        limiter.check("192.0.2.1")
    assert exc.value.retry_after == 51  # the oldest failure (t=1000) leaves the window at 1060
    assert "51" in str(exc.value) and exc.value.exit_code == 10
    limiter.check("192.0.2.2")  # another client is not affected
    ticks.now = 1060.0
    limiter.check("192.0.2.1")  # one failure has left the window
    assert limiter.failures("192.0.2.1") == 9


def test_the_limiter_groups_ipv6_by_64_and_unmaps_ipv4() -> None:
    limiter = FailureLimiter(max_failures=2, per_seconds=60, clock=Ticks())
    limiter.record_failure("2001:db8:1:2::1")
    limiter.record_failure("2001:db8:1:2:ffff::9")
    with pytest.raises(RateLimitedError):
        limiter.check("2001:db8:1:2::77")
    limiter.check("2001:db8:1:3::1")
    limiter.record_failure("::ffff:192.0.2.7")
    limiter.record_failure("192.0.2.7")
    with pytest.raises(RateLimitedError):
        limiter.check("192.0.2.7")
    limiter.record_failure("unix-socket")
    assert limiter.failures("unix-socket") == 1
    # a port does not make a new client
    limiter.record_failure("198.51.100.4:50001")
    limiter.record_failure("198.51.100.4:50002")
    with pytest.raises(RateLimitedError):
        limiter.check("198.51.100.4")
    limiter.record_failure("[2001:db8:9::1]:443")
    assert limiter.failures("2001:db8:9::2") == 1


def test_the_limiter_is_thread_safe_and_bounded() -> None:
    limiter = FailureLimiter(max_failures=100_000, per_seconds=3600)

    def hammer() -> None:
        for _ in range(500):
            limiter.record_failure("198.51.100.1")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert limiter.failures("198.51.100.1") == 4000

    small = FailureLimiter(max_failures=3, per_seconds=60, max_clients=2, clock=Ticks())
    for addr in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        small.record_failure(addr)
    assert [small.failures(a) for a in ("10.0.0.1", "10.0.0.2", "10.0.0.3")] == [0, 1, 1]


def test_limiter_settings_are_checked() -> None:
    for kwargs in ({"max_failures": 0}, {"per_seconds": 0}, {"max_clients": 0}):
        with pytest.raises(ConfigError):
            FailureLimiter(**kwargs)  # type: ignore[arg-type]


# -- OIDC: keys, minting, a real JWKS server ---------------------------------------------------
ISSUER = "https://idp.example.test/realms/police"
AUDIENCE = "strongroom"
NOW = 1_900_000_000


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int(n: int, size: int | None = None) -> str:
    return _b64u(n.to_bytes(size or (n.bit_length() + 7) // 8, "big"))


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @staticmethod
    def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
        pub = key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": _int(pub.n),
            "e": _int(pub.e),
        }

    def jwks(self) -> dict[str, Any]:
        ec_pub = self.ec.public_key().public_numbers()
        ed_raw = self.ed.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {
            "keys": [
                self.rsa_jwk(self.rsa, "rsa-1"),
                {
                    "kty": "EC",
                    "kid": "ec-1",
                    "crv": "P-256",
                    "x": _int(ec_pub.x, 32),
                    "y": _int(ec_pub.y, 32),
                },
                {"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": _b64u(ed_raw)},
                # a symmetric key in the set is never used
                {"kty": "oct", "kid": "hs-1", "k": _b64u(b"shared secret shared secret!!")},
            ]
        }


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def _mint(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    h = _b64u(json.dumps(header).encode())
    p = _b64u(json.dumps(claims).encode())
    return f"{h}.{p}.{_b64u(sign(f'{h}.{p}'.encode()))}"


def _rs256(key: rsa.RSAPrivateKey) -> Callable[[bytes], bytes]:
    return lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA256())


def _es256(key: ec.EllipticCurvePrivateKey) -> Callable[[bytes], bytes]:
    def sign(m: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(m, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def _claims(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f3b1c2d4-0001",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 300,
        "roles": ["police-investigator", "something-else"],
        "unit": "A110105",
        "region": "110000",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _rs(keys: Keys, claims: dict[str, Any] | None = None, **header: Any) -> str:
    return _mint({"alg": "RS256", "kid": "rsa-1", **header}, claims or _claims(), _rs256(keys.rsa))


class Idp:
    """A JWKS endpoint on 127.0.0.1: serves ``jwks`` (or ``status``) and counts requests."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.status = 200
        self.hits = 0
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                idp.hits += 1
                body = json.dumps(idp.jwks).encode()
                self.send_response(idp.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def idp(keys: Keys) -> Iterator[Idp]:
    server = Idp(keys.jwks())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ticks() -> Ticks:
    return Ticks(float(NOW))


def _verifier(source: str | Path, ticks: Ticks, **kwargs: Any) -> OidcVerifier:
    options: dict[str, Any] = {
        "role_map": {"police-investigator": "investigator", "police-analyst": "analyst"},
        "leeway_seconds": 30,
        "unit_claim": "unit",
        "region_claim": "region",
        "_clock": ticks,
        **kwargs,
    }
    return OidcVerifier(ISSUER, AUDIENCE, source, **options)


@pytest.fixture
def oidc(idp: Idp, ticks: Ticks) -> OidcVerifier:
    return _verifier(idp.url, ticks)


def test_a_good_token_of_each_algorithm_is_accepted(
    oidc: OidcVerifier, keys: Keys, idp: Idp
) -> None:
    ed = keys.ed.sign
    good = [
        _rs(keys),
        _mint({"alg": "ES256", "kid": "ec-1", "typ": "JWT"}, _claims(), _es256(keys.ec)),
        _mint({"alg": "EdDSA", "kid": "ed-1"}, _claims(), ed),
        _mint({"alg": "Ed25519", "kid": "ed-1"}, _claims(), ed),
        _rs(keys, _claims(aud=["other-api", AUDIENCE])),
    ]
    for token in good:
        p = oidc.verify(token)
        assert p == Principal(
            id="oidc:f3b1c2d4-0001",
            kind="user",
            roles=frozenset({"investigator"}),
            unit="A110105",
            home_region="110000",
            created_at=datetime.fromtimestamp(NOW, UTC),
        )
    assert idp.hits == 1 == oidc.jwks_fetches  # fetched once, then cached


def _rejected(oidc: OidcVerifier, token: str) -> str:
    with pytest.raises(AuthenticationError) as exc:
        oidc.verify(token)
    assert str(exc.value) == "authentication failed" and token not in str(exc.value)
    return exc.value.reason


def test_bad_tokens_are_rejected(oidc: OidcVerifier, keys: Keys) -> None:
    public_pem = keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = _rs(keys)
    h, p, s = good.split(".")
    none_header = _b64u(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    attacker = ec.generate_private_key(ec.SECP256R1())
    attacker_pub = attacker.public_key().public_numbers()
    attacker_jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _int(attacker_pub.x, 32),
        "y": _int(attacker_pub.y, 32),
    }
    forged_payload = _b64u(json.dumps(_claims(sub="someone-else")).encode())
    cases = {
        "wrong audience": _rs(keys, _claims(aud="another-api")),
        "wrong audience list": _rs(keys, _claims(aud=["a", "b"])),
        "wrong issuer": _rs(keys, _claims(iss="https://evil.example.test")),
        "expired": _rs(keys, _claims(exp=NOW - 31)),
        "not yet valid": _rs(keys, _claims(nbf=NOW + 31)),
        "issued in the future": _rs(keys, _claims(iat=NOW + 31)),
        "bad signature (payload changed)": f"{h}.{forged_payload}.{s}",
        "bad signature (other key, same kid)": _mint(
            {"alg": "RS256", "kid": "rsa-1"}, _claims(), _rs256(keys.other)
        ),
        "unknown kid": _mint({"alg": "RS256", "kid": "nope"}, _claims(), _rs256(keys.rsa)),
        "no kid": _mint({"alg": "RS256"}, _claims(), _rs256(keys.rsa)),
        "alg none": _mint({"alg": "none", "kid": "rsa-1"}, _claims(), lambda m: b""),
        "alg none, signature kept": f"{none_header}.{p}.{s}",
        "HS256 with the public key (PEM) as secret": _mint(
            {"alg": "HS256", "kid": "rsa-1"},
            _claims(),
            lambda m: hmac.new(public_pem, m, "sha256").digest(),
        ),
        "HS256 with the published oct key": _mint(
            {"alg": "HS256", "kid": "hs-1"},
            _claims(),
            lambda m: hmac.new(b"shared secret shared secret!!", m, "sha256").digest(),
        ),
        "RS512 is not allowed": _mint(
            {"alg": "RS512", "kid": "rsa-1"},
            _claims(),
            lambda m: keys.rsa.sign(m, padding.PKCS1v15(), hashes.SHA512()),
        ),
        "RS256 header, EC key": _mint({"alg": "RS256", "kid": "ec-1"}, _claims(), _es256(keys.ec)),
        "embedded attacker jwk": _mint(
            {"alg": "ES256", "kid": "ec-1", "jwk": attacker_jwk}, _claims(), _es256(attacker)
        ),
        "missing sub": _rs(keys, _claims(sub=None)),
        "missing exp": _rs(keys, _claims(exp=None)),
        "missing aud": _rs(keys, _claims(aud=None)),
        "bad unit claim": _rs(keys, _claims(unit="A 1; drop")),
        "not a jwt": "a.b.c",
        "two parts": f"{h}.{p}",
        "too long": f"{h}.{p}.{'A' * 20000}",
        "deeply nested": f"{h}.{_b64u(b'[' * 5000)}.{s}",
    }
    reasons = {name: _rejected(oidc, token) for name, token in cases.items()}
    assert reasons["wrong audience"] == reasons["wrong audience list"] == "wrong jwt audience"
    assert reasons["wrong issuer"] == "wrong jwt issuer"
    assert reasons["expired"] == "expired jwt"
    assert reasons["not yet valid"] == "jwt not yet valid"
    assert reasons["bad signature (payload changed)"] == "bad jwt signature"
    assert reasons["bad signature (other key, same kid)"] == "bad jwt signature"
    assert reasons["embedded attacker jwk"] == "bad jwt signature"
    assert reasons["unknown kid"] == reasons["no kid"] == "unknown jwt key id"
    assert reasons["alg none"] == reasons["alg none, signature kept"] == "jwt algorithm not allowed"
    assert reasons["HS256 with the public key (PEM) as secret"] == "jwt algorithm not allowed"
    assert reasons["HS256 with the published oct key"] == "jwt algorithm not allowed"
    assert reasons["RS512 is not allowed"] == "jwt algorithm not allowed"
    assert reasons["RS256 header, EC key"] == "jwt key does not fit its algorithm"
    assert reasons["missing sub"] == reasons["missing exp"] == "jwt lacks a required claim"


def test_clock_skew_is_bounded_by_the_leeway(oidc: OidcVerifier, keys: Keys) -> None:
    assert oidc.verify(_rs(keys, _claims(exp=NOW - 29))).id == "oidc:f3b1c2d4-0001"
    assert oidc.verify(_rs(keys, _claims(nbf=NOW + 29, iat=NOW + 29))).id.startswith("oidc:")
    assert _rejected(oidc, _rs(keys, _claims(exp=NOW - 30))) == "expired jwt"
    # an explicit "now" is honoured too
    later = datetime.fromtimestamp(NOW + 400, UTC)
    with pytest.raises(AuthenticationError):
        oidc.verify(_rs(keys), now=later)


def test_unknown_kid_refetches_once_then_waits(
    oidc: OidcVerifier, keys: Keys, idp: Idp, ticks: Ticks
) -> None:
    assert oidc.verify(_rs(keys)).id
    assert idp.hits == 1
    # the issuer rotates in a new key: the first token with its kid triggers one refetch
    idp.jwks = {"keys": [*keys.jwks()["keys"], Keys.rsa_jwk(keys.rsa2, "rsa-2")]}
    rotated = _mint({"alg": "RS256", "kid": "rsa-2"}, _claims(), _rs256(keys.rsa2))
    assert oidc.verify(rotated).id
    assert idp.hits == 2
    # made-up kids cannot make us hammer the issuer: one refetch per interval at most
    for n in range(5):
        _rejected(oidc, _mint({"alg": "RS256", "kid": f"x{n}"}, _claims(), _rs256(keys.rsa)))
    assert idp.hits == 2
    ticks.now += 10
    for n in range(5):
        _rejected(oidc, _mint({"alg": "RS256", "kid": f"y{n}"}, _claims(), _rs256(keys.rsa)))
    assert idp.hits == 3


def test_the_key_set_is_refreshed_after_its_ttl_and_kept_when_the_issuer_fails(
    idp: Idp, keys: Keys, ticks: Ticks
) -> None:
    oidc = _verifier(idp.url, ticks, jwks_ttl_seconds=60)
    token = _rs(keys, _claims(exp=NOW + 3600))
    oidc.verify(token)
    ticks.now += 30
    oidc.verify(token)
    assert idp.hits == 1
    ticks.now += 31
    idp.status = 500
    assert oidc.verify(token).id  # refresh failed: the keys held stay in use
    assert idp.hits == 2
    oidc.verify(token)
    assert idp.hits == 2  # and the next attempt waits
    ticks.now += 10
    idp.status = 200
    oidc.verify(token)
    assert idp.hits == 3


def test_no_key_set_means_unavailable_not_unauthenticated(
    idp: Idp, keys: Keys, ticks: Ticks
) -> None:
    idp.status = 503
    oidc = _verifier(idp.url, ticks)
    with pytest.raises(JwksUnavailableError):
        oidc.verify(_rs(keys))
    dead = _verifier("http://127.0.0.1:9/jwks.json", ticks, http_timeout_seconds=2)
    with pytest.raises(JwksUnavailableError):
        dead.verify(_rs(keys))


def test_the_key_set_can_come_from_a_file(tmp_path: Path, keys: Keys, ticks: Ticks) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keys.jwks()), encoding="utf-8")
    oidc = _verifier(path, ticks)
    assert oidc.verify(_rs(keys)).roles == {"investigator"}
    assert oidc.verify(_rs(keys)).id == "oidc:f3b1c2d4-0001"


def test_short_rsa_and_symmetric_keys_in_the_set_are_never_used(
    tmp_path: Path, keys: Keys, ticks: Ticks
) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - on purpose
    path = tmp_path / "jwks.json"
    jwks = keys.jwks()
    jwks["keys"].append(Keys.rsa_jwk(weak, "weak"))
    path.write_text(json.dumps(jwks), encoding="utf-8")
    oidc = _verifier(path, ticks)
    token = _mint({"alg": "RS256", "kid": "weak"}, _claims(), _rs256(weak))
    assert _rejected(oidc, token) == "unknown jwt key id"
    only_bad = tmp_path / "bad.json"
    only_bad.write_text(json.dumps({"keys": [Keys.rsa_jwk(weak, "weak"), jwks["keys"][3]]}))
    with pytest.raises(JwksUnavailableError):
        _verifier(only_bad, ticks).verify(token)


def test_role_claims_are_mapped(idp: Idp, keys: Keys, ticks: Ticks) -> None:
    nested = _verifier(idp.url, ticks, role_claim="realm_access.roles", unit_claim=None)
    token = _rs(keys, _claims(realm_access={"roles": ["police-analyst"]}, roles=None))
    p = nested.verify(token)
    assert p.roles == {"analyst"} and p.unit is None and p.home_region == "110000"
    spaced = _verifier(idp.url, ticks, role_claim="scope")
    p2 = spaced.verify(_rs(keys, _claims(scope="openid police-investigator police-analyst")))
    assert p2.roles == {"investigator", "analyst"}
    # unmapped role names give nothing; a Strongroom role name is not taken at face value
    p3 = spaced.verify(_rs(keys, _claims(scope="admin supervisor")))
    assert p3.roles == frozenset()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"leeway_seconds": 61}, "leeway_seconds"),
        ({"leeway_seconds": -1}, "leeway_seconds"),
        ({"role_map": {"x": "root"}}, "role_map"),
        ({"role_map": {"x": "citizen"}}, "role_map"),
        ({"source": "http://idp.example.test/jwks.json"}, "jwks_source"),
        ({"source": "/nonexistent/jwks.json"}, "jwks_source"),
        ({"issuer": ""}, "issuer"),
        ({"jwks_ttl_seconds": 0}, "jwks_ttl_seconds"),
    ],
)
def test_verifier_settings_are_checked(kwargs: dict[str, Any], field: str, ticks: Ticks) -> None:
    source = kwargs.pop("source", "https://idp.example.test/jwks.json")
    issuer = kwargs.pop("issuer", ISSUER)
    with pytest.raises(ConfigError, match=f"^{field}:"):
        OidcVerifier(issuer, AUDIENCE, source, _clock=ticks, **kwargs)


# -- the Authenticator -------------------------------------------------------------------------
@pytest.fixture
def auth(tokens: TokenStore, oidc: OidcVerifier) -> Authenticator:
    return Authenticator(tokens, oidc=oidc, limiter=FailureLimiter(10, 60, clock=Ticks()))


def test_bearer_api_tokens_and_jwts_authenticate(
    auth: Authenticator, tokens: TokenStore, keys: Keys
) -> None:
    token, _ = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    assert auth.authenticate(f"Bearer {token}", "192.0.2.1").id == "officer-1"
    assert auth.authenticate(f"bearer  {token} ", "192.0.2.1").id == "officer-1"
    assert auth.authenticate(f"Bearer {_rs(keys)}", "192.0.2.1").id == "oidc:f3b1c2d4-0001"
    assert auth.limiter.failures("192.0.2.1") == 0


def test_what_the_authenticator_refuses(
    auth: Authenticator, tokens: TokenStore, keys: Keys
) -> None:
    token, _ = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    for header in (None, "", "   "):
        with pytest.raises(AuthenticationError) as exc:
            auth.authenticate(header, "192.0.2.9")
        assert exc.value.reason == "no credentials"
    assert auth.limiter.failures("192.0.2.9") == 0  # nothing was guessed
    for header in (
        f"Basic {base64.b64encode(b'officer-1:pw').decode()}",
        token,  # no scheme
        f"Bearer {token} extra",
        "Bearer opaque-thing",
        f"Token {token}",
    ):
        with pytest.raises(AuthenticationError):
            auth.authenticate(header, "192.0.2.9")
    assert auth.limiter.failures("192.0.2.9") == 5
    without_oidc = Authenticator(tokens)
    with pytest.raises(AuthenticationError):
        without_oidc.authenticate(f"Bearer {_rs(keys)}", "192.0.2.10")


def test_failed_attempts_are_throttled_per_address(
    tokens: TokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    ticks = Ticks()
    auth = Authenticator(tokens, limiter=FailureLimiter(10, 60, clock=ticks))
    good, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    wrong = f"sr_{info.id}_{'a' * 52}"
    caplog.set_level(logging.DEBUG, logger="strongroom.auth")
    for _ in range(10):
        with pytest.raises(AuthenticationError):
            auth.authenticate(f"Bearer {wrong}", "203.0.113.5")
    with pytest.raises(RateLimitedError) as exc:
        auth.authenticate(f"Bearer {good}", "203.0.113.5")  # even a good token waits
    assert exc.value.retry_after == 60
    assert auth.authenticate(f"Bearer {good}", "203.0.113.6").id == "officer-1"
    ticks.now = 60.0
    assert auth.authenticate(f"Bearer {good}", "203.0.113.5").id == "officer-1"
    throttled = [r for r in caplog.records if "throttled" in r.getMessage()]
    assert len(throttled) == 1 and "203.0.113.5" in throttled[0].getMessage()


def test_logs_never_contain_a_token(
    auth: Authenticator,
    tokens: TokenStore,
    people: PrincipalStore,
    keys: Keys,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    good, info = tokens.issue("officer-1", "laptop", timedelta(hours=1))
    expiring, _ = tokens.issue("officer-1", "short", timedelta(minutes=1))
    revoked, revoked_info = tokens.issue("officer-1", "old", timedelta(hours=1))
    disabled, _ = tokens.issue("ops-bot", "deploy", timedelta(hours=1))
    tokens.revoke(revoked_info.id)
    people.disable("ops-bot")
    clock.advance(timedelta(minutes=2))
    jwt_bad = _rs(keys, _claims(aud="another-api"))
    secrets = [good, expiring, revoked, disabled, jwt_bad, _flip_last(good)]
    auth.authenticate(f"Bearer {good}", "192.0.2.20")
    for bad in secrets[1:]:
        with pytest.raises(AuthenticationError) as exc:
            auth.authenticate(f"Bearer {bad}", "192.0.2.20")
        assert bad not in str(exc.value) and exc.value.__cause__ is None
    failures = [r.getMessage() for r in caplog.records if "authentication failed" in r.getMessage()]
    assert len(failures) == 5
    assert f"token_id={info.id}" in failures[-1]  # the public prefix, at most
    assert any("reason=expired api token" in f for f in failures)
    assert any("reason=revoked api token" in f for f in failures)
    assert any("reason=api token of a disabled principal" in f for f in failures)
    assert any("kind=jwt reason=wrong jwt audience" in f for f in failures)
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for token in secrets:
        assert token not in logged
        if token.startswith("sr_"):
            assert token.split("_")[-1] not in logged  # nor the secret part alone
        else:
            assert token.split(".")[-1] not in logged  # nor a JWT's signature
    assert "api token issued: id=" in caplog.text


def test_an_unavailable_key_set_is_not_counted_against_the_client(
    tokens: TokenStore, idp: Idp, keys: Keys, ticks: Ticks
) -> None:
    idp.status = 503
    auth = Authenticator(tokens, oidc=_verifier(idp.url, ticks))
    with pytest.raises(JwksUnavailableError):
        auth.authenticate(f"Bearer {_rs(keys)}", "192.0.2.30")
    assert auth.limiter.failures("192.0.2.30") == 0
