"""Which token the CLI sends: none to a local service, else the caller's own identity."""

from __future__ import annotations

from urllib.parse import urlsplit

from ledger_client.auth import (
    CachedToken,
    NoAuth,
    TokenSource,
    gcloud_id_token,
    google_id_token,
    static_token,
)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
AUTH_MODES = ("auto", "none", "google", "gcloud", "token")


def google_then_gcloud(audience: str) -> CachedToken:
    """google-auth's ID token (a service account, the metadata server); for a person
    signed in with ``gcloud auth login``, whose ADC cannot mint ID tokens, gcloud's."""
    google, gcloud = google_id_token(audience), gcloud_id_token()

    def fetch() -> tuple[str, float | None]:
        try:
            return google.fetch()
        except Exception:  # any failure of ADC: fall back to gcloud
            return gcloud.fetch()

    return CachedToken(fetch, serverless_header=True)


def token_source(mode: str, *, url: str, token: str | None, audience: str | None) -> TokenSource:
    """``auto``: a given token, else nothing for a loopback URL (``make run``), else
    the caller's Google identity for ``audience`` (default: the URL)."""
    if mode == "auto":
        if token:
            mode = "token"
        elif urlsplit(url).hostname in LOCAL_HOSTS:
            mode = "none"
        else:
            mode = "google"
    aud = audience or url.rstrip("/")
    if mode == "none":
        return NoAuth()
    if mode == "token":
        if not token:
            raise SystemExit("ledger: --auth token needs --token or LEDGER_TOKEN")
        # Sent in both headers: behind Cloud Run the front end takes one.
        return static_token(token, serverless_header=True)
    if mode == "gcloud":
        return gcloud_id_token(audience)
    return google_then_gcloud(aud)
