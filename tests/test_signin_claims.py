"""Who a sign-in is: the ID token's claims against the roles document (metrics.access.roles).

Found by an adversarial review with a real provider: a token saying
`email_verified: "false"` (a string) was let in as the leader whose e-mail it carried, and
a token whose subject was a clerk's e-mail became that clerk. These tests hold the rule:
only `email_verified` true (or the text "true") verifies an e-mail; an (issuer, subject)
entry matches that exact pair; a subject is never compared with an e-mail; every sign-in
and every refusal is audited with the token's issuer, subject and e-mail. The browser
version of the same spoofs, against oidc-provider-mock: tests/browser/test_oidc_roles.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from metrics import access
from metrics.access import Principal
from metrics.store import Store

ISSUER = "https://sso.qtx.example/realms/gov"
OTHER_ISSUER = "https://evil.example"
ADMIN = Principal("admin@qtx.example", "admin")
ROLES = {
    "users": [
        {"user": "Leader@QTX.example", "role": "leader", "name": "王书记"},
        {"user": "clerka@qtx.example", "role": "clerk", "community_id": "QTX01", "name": "北苑"},
        # A clerk whose provider sends no verified e-mail: known by issuer and subject.
        {"issuer": ISSUER, "subject": "u-0042", "role": "clerk", "community_id": "QTX02"},
        # An older entry with a bare account id, as the README once invited: matches nobody.
        {"user": "u-legacy", "role": "leader"},
    ]
}


@pytest.fixture
def roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.delenv("GOVDASH_ADMINS", raising=False)
    store = Store(tmp_path / "data")
    # Saved as the admin page would, except for the legacy entry validate_roles refuses.
    store.write_document(access.ROLES_TABLE, ROLES, "pytest")
    return store


def token(**claims: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "sub": "u-9999", **claims}


@pytest.mark.parametrize(
    ("verified", "let_in"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        (False, False),
        ("false", False),  # the spoof: a non-empty string is truthy, and not `is False`
        ("False", False),
        ("0", False),
        ("yes", False),
        ("", False),
        (1, False),  # not a boolean
        (None, False),
        ("missing", False),  # no claim at all: nobody vouched for the address
    ],
)
def test_only_a_true_email_verified_verifies(roles: Store, verified: Any, let_in: bool) -> None:
    claims = token(email="leader@qtx.example")
    if verified != "missing":
        claims["email_verified"] = verified
    principal, reason = access.resolve_claims(roles, claims)
    if let_in:
        assert principal is not None and (principal.role, reason) == ("leader", "email")
        assert principal.user == "leader@qtx.example" and principal.name == "王书记"
    else:
        assert (principal, reason) == (None, "email_not_verified")


def test_a_subject_is_never_matched_against_an_email(roles: Store) -> None:
    # The spoof: the attacker's own subject is the clerk's e-mail, their e-mail another.
    for claims in (
        token(sub="clerka@qtx.example", email="me@attacker.example", email_verified=True),
        token(sub="clerka@qtx.example"),  # no e-mail at all
        token(sub="clerka@qtx.example", email="clerka@qtx.example", email_verified="false"),
        token(sub="u-legacy"),  # the legacy bare-id entry is no (issuer, subject) entry
        {"sub": "u-0042"},  # the right subject without an issuer
    ):
        principal, _ = access.resolve_claims(roles, claims)
        assert principal is None, claims


def test_an_issuer_and_subject_entry_matches_that_pair_only(roles: Store) -> None:
    principal, reason = access.resolve_claims(roles, token(sub="u-0042"))
    assert principal is not None and reason == "subject"
    assert (principal.role, principal.community_id) == ("clerk", "QTX02")
    assert principal.user == f"u-0042 ({ISSUER})"
    # A verified e-mail in the token names the user in the audit log and the history.
    named, _ = access.resolve_claims(roles, token(sub="u-0042", email="z@x.cn", email_verified=1))
    assert named is not None and named.user == f"u-0042 ({ISSUER})"  # 1 is not true
    named, _ = access.resolve_claims(
        roles, token(sub="u-0042", email="Z@x.cn", email_verified=True)
    )
    assert named is not None and named.user == "z@x.cn"
    for claims in (
        {"iss": OTHER_ISSUER, "sub": "u-0042"},  # the same subject from another provider
        token(sub="U-0042"),  # subjects are case-sensitive
        {"iss": ISSUER + "/", "sub": "u-0042"},
    ):
        assert access.resolve_claims(roles, claims) == (None, "not_listed"), claims


def test_refusal_reasons(roles: Store) -> None:
    assert access.resolve_claims(roles, {}) == (None, "no_identity")
    assert access.resolve_claims(roles, token()) == (None, "not_listed")
    stranger = token(email="stranger@x.example", email_verified=True)
    assert access.resolve_claims(roles, stranger) == (None, "not_listed")
    unverified = token(email="leader@qtx.example")
    assert access.resolve_claims(roles, unverified) == (None, "email_not_verified")


def test_bootstrap_admins_need_a_verified_email(
    roles: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_ADMINS", "boss@qtx.example, other@qtx.example")
    boss, reason = access.resolve_claims(
        roles, token(email="BOSS@qtx.example", email_verified=True)
    )
    assert boss is not None and (boss.role, boss.user, reason) == (
        "admin",
        "boss@qtx.example",
        "admins",
    )
    assert access.resolve_claims(roles, token(email="boss@qtx.example"))[0] is None
    assert access.resolve_claims(roles, token(sub="boss@qtx.example"))[0] is None
    assert access.resolve(roles, "boss@qtx.example") == boss  # the CLI's --as-user


def test_the_cli_looks_users_up_by_email_only(roles: Store) -> None:
    clerk = access.resolve(roles, "ClerkA@qtx.example")
    assert clerk is not None and (clerk.role, clerk.community_id) == ("clerk", "QTX01")
    assert access.resolve(roles, "u-legacy") is None
    assert access.resolve(roles, "u-0042") is None
    assert access.resolve(roles, None) is None


def test_each_entry_names_its_user_one_way(roles: Store) -> None:
    document = {
        "users": [
            {"user": "a@x.cn", "role": "leader"},
            {"issuer": ISSUER, "subject": "s1", "role": "leader"},
            {"user": "u-123", "role": "leader"},  # a bare id: no "@", no issuer
            {"issuer": ISSUER, "role": "leader"},  # half a pair
            {"user": "b@x.cn", "issuer": ISSUER, "subject": "s2", "role": "leader"},  # both
            {"issuer": ISSUER, "subject": "s1", "role": "leader"},  # the same pair again
            {"user": "A@X.cn", "role": "leader"},  # the same e-mail again
            {"role": "leader"},
        ]
    }
    problems = access.validate_roles(document, {"QTX01"}, "en")
    assert [p.split(":")[0] for p in problems] == [
        "Row 3",
        "Row 4",
        "Row 5",
        "Row 6",
        "Row 7",
        "Row 8",
    ]
    assert "twice" in problems[3] and "twice" in problems[4] and "missing" in problems[5]
    kinds = [access.entry_kind(u) for u in document["users"]]
    assert kinds == [
        "email",
        "subject",
        "invalid",
        "invalid",
        "invalid",
        "subject",
        "email",
        "invalid",
    ]


def test_save_keeps_issuer_and_subject_exactly(roles: Store) -> None:
    document = {"users": [{"issuer": f" {ISSUER} ", "subject": "U-42", "role": "leader"}]}
    access.save_roles(roles, document, ADMIN)
    saved = access.load_roles(roles)["users"]
    assert saved == [
        {
            "user": "",
            "issuer": ISSUER,
            "subject": "U-42",
            "role": "leader",
            "community_id": None,
            "name": "",
        }
    ]


def test_sign_ins_are_audited_with_issuer_subject_and_email(roles: Store) -> None:
    spoof = token(sub="clerka@qtx.example", email="me@attacker.example", email_verified="false")
    principal, reason = access.resolve_claims(roles, spoof)
    access.audit_sign_in(roles, spoof, principal, reason, sign_in="s1")
    leader_claims = token(sub="u-1", email="leader@qtx.example", email_verified=True)
    leader, why = access.resolve_claims(roles, leader_claims)
    access.audit_sign_in(roles, leader_claims, leader, why, sign_in="s2")
    log = access.audit_log(roles, ADMIN)
    assert list(log["action"]) == ["login", "login_refused"]
    refused = json.loads(log["detail"][1])
    # The refusal names the attacker's own claims, never the clerk the subject pretends to be.
    assert log["user"][1] == "me@attacker.example" and pd.isna(log["role"][1])
    assert refused == {
        "reason": "email_not_verified",
        "issuer": ISSUER,
        "subject": "clerka@qtx.example",
        "email": "me@attacker.example",
        "email_verified": False,
        "sign_in": "s1",
    }
    login = json.loads(log["detail"][0])
    assert (log["user"][0], log["role"][0]) == ("leader@qtx.example", "leader")
    assert login == {
        "matched": "email",
        "issuer": ISSUER,
        "subject": "u-1",
        "email": "leader@qtx.example",
        "email_verified": True,
        "sign_in": "s2",
    }
