"""The one place the app talks to Stripe: a StripeClient built from the configuration, or None.

Nothing here touches global ``stripe`` settings, so tests (and a second app in one process) can
point one app at a local fake without affecting another.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import stripe
from flask import current_app

StripeError = stripe.StripeError
SignatureVerificationError = stripe.SignatureVerificationError


def is_configured() -> bool:
    """Both keys are set: the app can create Checkout Sessions and verify webhooks."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))


def client() -> stripe.StripeClient | None:
    config = current_app.config
    if not is_configured():
        return None
    base = config.get("STRIPE_API_BASE") or None
    addresses = {"api": base} if base else None
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], base_addresses=addresses, max_network_retries=2)


def checkout_origin() -> str | None:
    """The origin of Stripe's hosted Checkout page (forms post to us and are redirected there)."""
    config = current_app.config
    if not is_configured():
        return None
    if config.get("STRIPE_CHECKOUT_ORIGIN"):
        return config["STRIPE_CHECKOUT_ORIGIN"]
    if config.get("STRIPE_API_BASE"):
        parts = urlsplit(config["STRIPE_API_BASE"])
        return f"{parts.scheme}://{parts.netloc}"
    return "https://checkout.stripe.com"


def construct_event(payload: bytes, signature: str | None) -> stripe.Event:
    """The event, after checking its ``Stripe-Signature`` against the webhook secret (raises if bad)."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise SignatureVerificationError("No webhook secret is configured.", signature)
    return stripe.Webhook.construct_event(payload, signature or "", secret)
