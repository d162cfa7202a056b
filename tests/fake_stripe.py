"""A small fake of the Stripe endpoints the app uses, served on 127.0.0.1, so tests never reach the internet.

The real ``stripe`` library is pointed at it (``STRIPE_API_BASE``). It implements:

- ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/<id>``, ``GET /v1/checkout/sessions``
  (``created[gte]``, ``status``, ``limit``, ``starting_after``), ``GET /v1/payment_intents/<id>``
  (``expand[]=latest_charge``);
- a hosted checkout page at ``/c/pay/<id>``: its Pay button marks the session paid, sends a
  ``checkout.session.completed`` event to the app's webhook signed exactly as Stripe signs it, then
  redirects to the session's success URL; Cancel goes to the cancel URL;
- helpers for tests: :meth:`FakeStripe.pay`, :meth:`FakeStripe.refund`, :meth:`FakeStripe.event`,
  :meth:`FakeStripe.signed` and :meth:`FakeStripe.deliver`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from html import escape

import pytest
from flask import Flask, abort, jsonify, redirect, request
from werkzeug.serving import make_server

WEBHOOK_SECRET = "whsec_test_fake_secret"
SECRET_KEY = "sk_test_fake_key"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=<unix time>,v1=<HMAC-SHA256 of "t.body">``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _nested(form) -> dict:
    """Stripe's form encoding (``a[b][0][c]=v``) back into dicts and lists."""
    root: dict = {}
    for key, value in form.items(multi=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                if part in node and key.endswith("[]"):
                    node[part] = [*node[part], value] if isinstance(node[part], list) else [node[part], value]
                else:
                    node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class FakeStripe:
    def __init__(self, webhook_url: str | None = None, webhook_secret: str = WEBHOOK_SECRET):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.created_params: list[dict] = []
        self.deliveries: list[int] = []
        self.lock = threading.Lock()
        self.app = self._build_app()
        self.server = None
        self.base_url = ""

    # Serving -----------------------------------------------------------------

    def start(self) -> FakeStripe:
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()

    def config(self) -> dict:
        """The app settings that point the app at this fake."""
        return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
                "STRIPE_API_BASE": self.base_url}

    # Objects -----------------------------------------------------------------

    def create_session(self, params: dict) -> dict:
        session_id = "cs_test_" + secrets.token_hex(12)
        items = params.get("line_items", [])
        total = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
        currency = items[0]["price_data"]["currency"] if items else "gbp"
        session = {
            "id": session_id, "object": "checkout.session", "mode": params.get("mode"), "status": "open",
            "payment_status": "unpaid", "url": f"{self.base_url}/c/pay/{session_id}",
            "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"), "metadata": params.get("metadata", {}),
            "amount_subtotal": total, "amount_total": total, "currency": currency,
            "customer_email": params.get("customer_email"), "payment_intent": None,
            "allow_promotion_codes": params.get("allow_promotion_codes") == "true",
            "line_items_requested": items,
            "created": int(time.time()), "livemode": False,
        }
        with self.lock:
            self.sessions[session_id] = session
            self.created_params.append(params)
        return session

    def pay(self, session_id: str, *, send: bool = True, status: str = "paid") -> dict:
        """The learner pays: the session completes, and (unless ``send`` is false) the webhook is sent."""
        with self.lock:
            session = self.sessions[session_id]
            if session["payment_status"] != "paid":
                intent_id = "pi_test_" + secrets.token_hex(12)
                charge_id = "ch_test_" + secrets.token_hex(12)
                self.charges[charge_id] = {
                    "id": charge_id, "object": "charge", "amount": session["amount_total"],
                    "amount_refunded": 0, "currency": session["currency"], "payment_intent": intent_id,
                    "paid": True, "refunded": False, "status": "succeeded",
                    "receipt_url": f"{self.base_url}/receipts/{charge_id}"}
                self.intents[intent_id] = {"id": intent_id, "object": "payment_intent",
                                           "amount": session["amount_total"], "latest_charge": charge_id,
                                           "status": "succeeded"}
                session.update(status="complete", payment_status=status, payment_intent=intent_id)
        event = self.event("checkout.session.completed", dict(session))
        if send:
            self.deliver(event)
        return event

    def refund(self, session_id: str, *, send: bool = True, amount: int | None = None) -> dict:
        """Refund the session's charge (in full unless ``amount`` is given); sends ``charge.refunded``."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self.intents[session["payment_intent"]]
            charge = self.charges[intent["latest_charge"]]
            charge["amount_refunded"] = charge["amount"] if amount is None else amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        event = self.event("charge.refunded", dict(charge))
        if send:
            self.deliver(event)
        return event

    def event(self, type_: str, obj: dict) -> dict:
        return {"id": "evt_test_" + secrets.token_hex(12), "object": "event", "api_version": "2025-01-27",
                "created": int(time.time()), "type": type_, "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "data": {"object": obj}}

    def signed(self, event: dict, *, secret: str | None = None) -> tuple[bytes, dict]:
        body = json.dumps(event).encode()
        return body, {"Stripe-Signature": sign(body, secret or self.webhook_secret),
                      "Content-Type": "application/json"}

    def deliver(self, event: dict, url: str | None = None) -> int:
        """POST the signed event to the app's webhook, as Stripe does; returns the HTTP status."""
        body, headers = self.signed(event)
        req = urllib.request.Request(url or self.webhook_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        self.deliveries.append(status)
        return status

    # The HTTP side -------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("fake_stripe")
        fake = self

        def not_found(kind, ident):
            return jsonify(error={"type": "invalid_request_error", "code": "resource_missing",
                                  "message": f"No such {kind}: '{ident}'"}), 404

        @app.post("/v1/checkout/sessions")
        def create():
            return jsonify(fake.create_session(_nested(request.form)))

        @app.get("/v1/checkout/sessions/<session_id>")
        def retrieve(session_id):
            session = fake.sessions.get(session_id)
            return jsonify(session) if session else not_found("checkout.session", session_id)

        @app.get("/v1/checkout/sessions")
        def list_sessions():
            args = _nested(request.args)
            rows = sorted(fake.sessions.values(), key=lambda s: (s["created"], s["id"]), reverse=True)
            gte = (args.get("created") or {}).get("gte")
            if gte:
                rows = [s for s in rows if s["created"] >= int(gte)]
            if args.get("status"):
                rows = [s for s in rows if s["status"] == args["status"]]
            if args.get("starting_after"):
                ids = [s["id"] for s in rows]
                rows = rows[ids.index(args["starting_after"]) + 1:] if args["starting_after"] in ids else []
            limit = int(args.get("limit", 10))
            return jsonify(object="list", url="/v1/checkout/sessions", has_more=len(rows) > limit,
                           data=rows[:limit])

        @app.get("/v1/payment_intents/<intent_id>")
        def payment_intent(intent_id):
            intent = fake.intents.get(intent_id)
            if intent is None:
                return not_found("payment_intent", intent_id)
            intent = dict(intent)
            if "latest_charge" in request.args.getlist("expand[]") or "latest_charge" in request.args.getlist(
                    "expand[0]"):
                intent["latest_charge"] = fake.charges[intent["latest_charge"]]
            return jsonify(intent)

        @app.get("/c/pay/<session_id>")
        def checkout_page(session_id):
            session = fake.sessions.get(session_id) or abort(404)
            name = session["line_items_requested"][0]["price_data"]["product_data"]["name"]
            amount = f"£{session['amount_total'] / 100:,.2f}" if session["currency"] == "gbp" else \
                f"{session['amount_total'] / 100:,.2f} {session['currency'].upper()}"
            return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Checkout · Fake Stripe</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 2rem auto; color: #1a1a1a">
<main>
<h1>Pay {escape(amount)}</h1>
<p>{escape(name)}</p>
<p>Test mode: no card is charged.</p>
<form method="post" action="/c/pay/{escape(session_id)}">
<button type="submit" style="font-size: 1.1rem; padding: .6rem 1.2rem; background: #0a5c2e; color: #fff;
 border: 0; border-radius: 4px">Pay {escape(amount)}</button>
</form>
<p><a href="{escape(session['cancel_url'] or '/')}" style="color: #0b4f9c">Cancel and go back</a></p>
</main></body></html>"""

        @app.post("/c/pay/<session_id>")
        def checkout_pay(session_id):
            session = fake.sessions.get(session_id) or abort(404)
            fake.pay(session_id)
            return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), 303)

        @app.get("/receipts/<charge_id>")
        def receipt(charge_id):
            charge = fake.charges.get(charge_id) or abort(404)
            return ("<!doctype html><html lang='en'><head><title>Receipt</title><link rel='icon' href='data:,'>"
                    "</head><body><main>"
                    f"<h1>Receipt</h1><p>{charge['amount']} {charge['currency']}</p></main></body></html>")

        return app


# Fixtures (imported by the test modules that pay) ---------------------------------

STRIPE_SETTINGS = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "STRIPE_CHECKOUT_ORIGIN")


@pytest.fixture(scope="session")
def fake_stripe_server():
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe(app, fake_stripe_server):
    """The fake, emptied, with the app pointed at it for this test only."""
    fake = fake_stripe_server
    with fake.lock:
        fake.sessions.clear(), fake.intents.clear(), fake.charges.clear()
        fake.created_params.clear(), fake.deliveries.clear()
    fake.webhook_url = None
    saved = {key: app.config.get(key) for key in STRIPE_SETTINGS}
    app.config.update(fake.config())
    yield fake
    app.config.update(saved)
