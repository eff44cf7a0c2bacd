"""Products: the token's product records (name, images, link, type), created and edited by JSON.

They are resources of type ``products`` too, so ``GET resources/products/`` and
``GET products/`` list the same records and ``product_id`` parameters find them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import invalid_argument
from .ids import new_id
from .resources import Resource
from .state import Account
from .timeline import iso

_TEXT_FIELDS = ("name", "url", "product_type", "description")
#: resource types an ``image_ids`` entry may name
IMAGE_TYPES = ("generic_uploads", "product_images")


def _changes(account: Account, body: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the product fields present in ``body`` and return them as field updates."""
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise invalid_argument(f"{name} must be a string", parameter=name)
        changes[name] = value
    if "name" in changes and not changes["name"].strip():
        raise invalid_argument("name must not be blank", parameter="name")
    image_ids = body.get("image_ids")
    if image_ids is not None:
        if not isinstance(image_ids, list) or not all(isinstance(each, str) for each in image_ids):
            raise invalid_argument("image_ids must be a list of ids", parameter="image_ids")
        unknown = [each for each in image_ids if not _is_image(account, each)]
        if unknown:
            raise invalid_argument(
                "image_ids must name uploads or product_images of this token",
                parameter="image_ids",
                invalid=unknown,
            )
        changes["image_ids"] = image_ids
    extra = {name: value for name, value in body.items() if name not in (*_TEXT_FIELDS, "image_ids")}
    if extra:
        changes["metadata"] = extra
    return changes


def _is_image(account: Account, resource_id: str) -> bool:
    """Whether ``resource_id`` is an upload or product image visible to the token."""
    resource = account.find(resource_id)
    return resource is not None and resource.resource_type in IMAGE_TYPES


def create_product(account: Account, body: Mapping[str, Any], at: float) -> Resource:
    """Create a product; ``name`` is required."""
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise invalid_argument("name is required", missing=["name"])
    fields = {"image_ids": [], "metadata": {}, **_changes(account, body), "updated_at": iso(at)}
    return account.add(
        Resource(
            id=new_id("prod"),
            resource_type="products",
            display_name=fields["name"],
            source_kind="created",
            created_at=at,
            fields=fields,
            owner=account.token,
        )
    )


def update_product(account: Account, product_id: str, body: Mapping[str, Any], at: float) -> Resource:
    """Apply a partial update to one of the token's products (metadata keys merge)."""
    product = account.own("products", product_id)
    changes = _changes(account, body)
    metadata = {**product.fields.get("metadata", {}), **changes.pop("metadata", {})}
    product.fields.update(changes, metadata=metadata, updated_at=iso(at))
    product.display_name = product.fields["name"]
    return product
