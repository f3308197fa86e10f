"""Google's OAuth 2.0 token endpoint for service accounts, as the sandbox plays it.

A service account signs a JWT (RS256, ``iss`` its ``client_email``, ``aud`` the token URI,
``scope``, ``iat``/``exp`` at most an hour apart) and trades it for a short-lived Bearer access
token at ``token_uri`` with the JWT-bearer grant (RFC 7523). The sandbox verifies the signature
against the public key of an account it was told about (:meth:`OAuthServer.trust`), so a
key file that is not the development one is refused as Google would refuse it.

:func:`development_service_account` makes such a key file for local development and tests.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import msgspec
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME_S = 3600  # Google's access tokens and its assertions' longest life
SKEW_S = 300
# Google's token endpoint accepts assertions addressed to it by these names; google-auth
# addresses the first whatever the key file's token_uri says.
GOOGLE_AUDIENCES = frozenset(
    {"https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token"}
)
# The marker production settings refuse: nothing Google issues carries it.
DEVELOPMENT_MARKER = "superapp_development_key"


def development_service_account(base_url: str, project_id: str = "superapp-dev") -> dict[str, Any]:
    """A service-account key file (as the Firebase console downloads it) with a fresh RSA key,
    whose ``token_uri`` is the sandbox at ``base_url``; tell the sandbox with
    ``app[FCM].oauth.trust(info)``. Marked as a development key (see
    :func:`is_development_service_account`)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    email = f"firebase-adminsdk-dev@{project_id}.iam.gserviceaccount.com"
    base = base_url.rstrip("/")
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**21)),
        "auth_uri": f"{base}/o/oauth2/auth",
        "token_uri": f"{base}/token",
        "auth_provider_x509_cert_url": f"{base}/oauth2/v1/certs",
        "client_x509_cert_url": f"{base}/robot/v1/metadata/x509/{email}",
        "universe_domain": "googleapis.com",
        DEVELOPMENT_MARKER: True,
    }


def is_development_service_account(info: Mapping[str, Any]) -> bool:
    """Whether ``info`` is a key made by :func:`development_service_account` (production
    must refuse it: its private key sits next to a sandbox that trusts it)."""
    return bool(info.get(DEVELOPMENT_MARKER))


class TrustedAccount(msgspec.Struct, frozen=True):
    """A service account whose assertions the sandbox accepts."""

    client_email: str
    project_id: str
    public_key_pem: str
    private_key_id: str | None = None
    token_uri: str | None = None


class Grant(msgspec.Struct, frozen=True):
    """An access token the sandbox issued."""

    client_email: str
    project_id: str
    scopes: frozenset[str]
    expires_at: float


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    # RFC 6749 section 5.2, the shape Google's token endpoint answers with.
    return web.json_response({"error": error, "error_description": description}, status=status)


class OAuthServer:
    """Trusted accounts, issued tokens and a count of token requests (to show reuse)."""

    def __init__(self) -> None:
        self._trusted: dict[str, tuple[TrustedAccount, rsa.RSAPublicKey]] = {}
        self._grants: dict[str, Grant] = {}
        self.token_requests = 0  # every POST /token, granted or not
        self.refused = 0

    def trust(self, info: Mapping[str, Any]) -> TrustedAccount:
        """Accept assertions of the service account in key file ``info`` (only its public half
        is kept)."""
        key = serialization.load_pem_private_key(str(info["private_key"]).encode(), None)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return self.trust_account(
            TrustedAccount(
                client_email=str(info["client_email"]),
                project_id=str(info["project_id"]),
                public_key_pem=public.decode(),
                private_key_id=info.get("private_key_id"),
                token_uri=info.get("token_uri"),
            )
        )

    def trust_account(self, account: TrustedAccount) -> TrustedAccount:
        """Accept assertions signed by ``account``'s public key (replacing a former key)."""
        key = serialization.load_pem_public_key(account.public_key_pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("a service account's key is RSA")
        self._trusted[account.client_email] = (account, key)
        return account

    def grant(self, access_token: str) -> Grant | None:
        """The live grant behind a Bearer token, or None (unknown or expired)."""
        grant = self._grants.get(access_token)
        return grant if grant is not None and grant.expires_at > time.time() else None

    async def token(self, request: web.Request) -> web.StreamResponse:
        """``POST /token``: trade a signed assertion for an access token."""
        self.token_requests += 1
        form = await request.post()
        if form.get("grant_type") != JWT_BEARER:
            self.refused += 1
            return _oauth_error(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type')}"
            )
        try:
            grant = self._verify(str(form.get("assertion", "")), request)
        except _Refusal as refusal:
            self.refused += 1
            return _oauth_error("invalid_grant", str(refusal))
        access_token = "ya29.sandbox-" + secrets.token_urlsafe(32)
        self._grants[access_token] = grant
        now = time.time()
        for spent in [t for t, g in self._grants.items() if g.expires_at <= now]:
            del self._grants[spent]  # forget expired tokens as new ones are issued
        return web.json_response(
            {
                "access_token": access_token,
                "expires_in": TOKEN_LIFETIME_S - 1,
                "token_type": "Bearer",
            }
        )

    async def trust_route(self, request: web.Request) -> web.StreamResponse:
        """``PUT /admin/fcm/service-accounts/{client_email}`` with ``{"project_id",
        "public_key_pem", "private_key_id"?}``: trust a key from another process."""
        try:
            body = msgspec.json.decode(await request.read(), type=dict[str, str])
            account = self.trust_account(
                TrustedAccount(
                    client_email=request.match_info["client_email"],
                    project_id=body["project_id"],
                    public_key_pem=body["public_key_pem"],
                    private_key_id=body.get("private_key_id"),
                )
            )
        except (msgspec.DecodeError, msgspec.ValidationError, KeyError, ValueError) as exc:
            return _oauth_error("invalid_request", str(exc))
        return web.json_response({"client_email": account.client_email})

    def _verify(self, assertion: str, request: web.Request) -> Grant:
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64(header_b64))
            claims = json.loads(_b64(claims_b64))
            signature = _b64(signature_b64)
        except (ValueError, binascii.Error) as exc:
            raise _Refusal("Invalid JWT: not a signed JWT.") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _Refusal("Invalid JWT: not a signed JWT.")
        if header.get("alg") != "RS256":
            raise _Refusal("Invalid JWT: only RS256 is accepted.")
        trusted = self._trusted.get(str(claims.get("iss", "")))
        if trusted is None:
            raise _Refusal("Invalid JWT Signature.")  # Google says no more for an unknown key
        account, key = trusted
        if account.private_key_id and header.get("kid") not in (None, account.private_key_id):
            raise _Refusal("Invalid JWT Signature.")
        try:
            key.verify(
                signature,
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature as exc:
            raise _Refusal("Invalid JWT Signature.") from exc
        own = f"{request.scheme}://{request.host}{request.path}"
        if claims.get("aud") not in {*GOOGLE_AUDIENCES, own, account.token_uri}:
            raise _Refusal("Invalid JWT: Failed audience check.")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(iat, int | float)
            or not isinstance(exp, int | float)
            or exp <= now
            or iat > now + SKEW_S
            or exp - iat > TOKEN_LIFETIME_S
        ):
            raise _Refusal(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim."
            )
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            raise _Refusal("Invalid JWT: no scope.")
        return Grant(account.client_email, account.project_id, scopes, now + TOKEN_LIFETIME_S)


class _Refusal(Exception):
    """An assertion Google would refuse, with its ``error_description``."""
