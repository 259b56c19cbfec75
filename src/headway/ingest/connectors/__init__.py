"""SaaS connectors: one folder per service on a shared base (see docs/connectors.md).

    from headway.ingest import connectors
    connectors.available()                       # [ConnectorInfo(name="stripe", ...), ...]
    conn = connectors.get("stripe")({"api_key": key}, base_url=None, state=saved)
    for batch in conn.sync():                    # Batch(dataset_type, frame, key, stream)
        load(batch)                              # upsert batch.frame by batch.key (append when key is empty)
    saved = conn.state                           # advanced only after a complete sync
    conn.preview()                               # first page only: checks the credentials, shows a sample

Adding a connector is one new folder with a ``Connector`` subclass plus one line in
``REGISTRY`` below.
"""

from __future__ import annotations

import importlib

from headway.ingest.connectors.base import Batch, Connector, ConnectorInfo, CredentialField, Cursor
from headway.ingest.connectors.http import ConnectorAuthError, ConnectorError, ConnectorHttpError, RateLimitError

# name → "module:Class", imported on first use.
REGISTRY: dict[str, str] = {
    "stripe": "headway.ingest.connectors.stripe:StripeConnector",
    "shopify": "headway.ingest.connectors.shopify:ShopifyConnector",
    "xero": "headway.ingest.connectors.xero:XeroConnector",
    "hubspot": "headway.ingest.connectors.hubspot:HubSpotConnector",
    "ga4": "headway.ingest.connectors.ga4:Ga4Connector",
}

__all__ = [
    "REGISTRY",
    "Batch",
    "Connector",
    "ConnectorAuthError",
    "ConnectorError",
    "ConnectorHttpError",
    "ConnectorInfo",
    "CredentialField",
    "Cursor",
    "RateLimitError",
    "available",
    "get",
]


def get(name: str) -> type[Connector]:
    """The connector class registered under ``name``; ConnectorError naming the known ones otherwise."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ConnectorError(f"no connector named {name!r}; available: {', '.join(sorted(REGISTRY))}") from None
    module, _, attribute = target.partition(":")
    cls: type[Connector] = getattr(importlib.import_module(module), attribute)
    return cls


def available() -> list[ConnectorInfo]:
    """What each connector is: name, label, auth kinds, credential fields, datasets produced."""
    return [get(name).info for name in REGISTRY]
