"""How records are shown to merchants, to the checkout page and in webhook events."""

from __future__ import annotations

import json

from paygate.db.models import MerchantModel, OrderModel, PaymentModel


def merchant_view(m: MerchantModel) -> dict:
    return {
        "id": m.id,
        "name": m.name,
        "email": m.email,
        "api_key": m.api_key,
        "api_secret": m.api_secret,
        "webhook_url": m.webhook_url,
    }


def merchant_summary(m: MerchantModel) -> dict:
    """The merchant without secrets (login and signup responses)."""
    return {
        "id": m.id,
        "name": m.name,
        "email": m.email,
        "api_key": m.api_key,
        "webhook_url": m.webhook_url,
        "created_at": m.created_at,
    }


def order_view(o: OrderModel) -> dict:
    return {
        "id": o.id,
        "merchant_id": o.merchant_id,
        "amount": int(o.amount),
        "currency": o.currency,
        "receipt": o.receipt,
        "notes": o.notes or {},
        "status": o.status,
        "attempts": int(o.attempts or 0),
        "amount_paid": int(o.amount_paid or 0),
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def order_public_view(o: OrderModel, merchant_name: str | None) -> dict:
    return {
        "id": o.id,
        "amount": int(o.amount),
        "currency": o.currency,
        "status": o.status,
        "merchant_name": merchant_name,
    }


def payment_view(p: PaymentModel) -> dict:
    view = {
        "id": p.id,
        "order_id": p.order_id,
        "merchant_id": p.merchant_id,
        "amount": int(p.amount),
        "currency": p.currency,
        "method": p.method,
    }
    if p.method == "upi":
        view["vpa"] = p.vpa
    else:
        view["card_network"] = p.card_network
        view["card_last4"] = p.card_last4
    view.update(
        {
            "status": p.status,
            "captured": bool(p.captured),
            "error_code": p.error_code,
            "error_description": p.error_description,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        }
    )
    return view


def payment_public_view(p: PaymentModel) -> dict:
    """What the customer's checkout may see: never the merchant, the VPA or card details."""
    return {
        "id": p.id,
        "order_id": p.order_id,
        "amount": int(p.amount),
        "currency": p.currency,
        "method": p.method,
        "status": p.status,
        "error_code": p.error_code,
        "error_description": p.error_description,
    }


def refund_view(r) -> dict:
    return {
        "id": r.id,
        "payment_id": r.payment_id,
        "amount": int(r.amount),
        "reason": r.reason,
        "status": r.status,
        "created_at": r.created_at,
        "processed_at": r.processed_at,
    }


def event_view(e) -> dict:
    """The webhook body's own fields (`id`, `event`, `timestamp`, `data`), so an event can go
    straight to the merchant's webhook handler, plus `created_at` and `payload`: the exact
    compact JSON that webhooks deliver and sign (byte for byte)."""
    body = json.loads(e.body)
    return {
        "id": e.id,
        "event": e.event,
        "timestamp": body["timestamp"],
        "data": body["data"],
        "created_at": e.created_at,
        "payload": e.body,
    }
