"""What every Clipwise operator shares: its hook, built on first use.

Uploads, products, cloned voices and generated resources are not paid generations and the API
takes no idempotency key for them, so a retried task would create them again. Where that is cheap
to avoid, the operators record what they created with
:func:`~clipgen_provider.operators._ledger.once_per_task_instance`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipgen_provider.hooks.clipwise import ClipwiseHook


class ClipwiseHookMixin:
    """Gives an operator ``self.hook``, built for ``self.clipwise_conn_id`` on first use.

    The hook module (and the HTTP stack) is imported only then, so parsing a DAG stays cheap.
    """

    clipwise_conn_id: str

    @cached_property
    def hook(self) -> ClipwiseHook:
        """The hook for ``clipwise_conn_id``."""
        from clipgen_provider.hooks.clipwise import ClipwiseHook

        return ClipwiseHook(self.clipwise_conn_id)
