"""The knowledge store: chunks with dense and BM25 vectors in Qdrant, one interface, two backends.

* `EmbeddedStore` (the default, `embedded.py`): `qdrant-edge-py`, the Qdrant engine inside this
  process, on disk under the data directory; one process at a time.
* `ServerStore` (`server.py`): `qdrant-client` against a Qdrant server, for deployments with
  several worker processes or machines.

`interface.py` holds what both share (the collection layout, `Filters`, `Hit`, `StoredState`,
the errors, `KnowledgeStore`), `bm25.py` the sparse encoder and `backends.py` `open_store`.
This module only re-exports them.
"""

from connectors.knowledge_store.backends import collection_name, open_store
from connectors.knowledge_store.bm25 import Bm25Encoder
from connectors.knowledge_store.embedded import EmbeddedStore
from connectors.knowledge_store.interface import (
    Filters,
    Hit,
    KnowledgeStore,
    StoredState,
    StoreError,
    StoreLockedError,
    drop_near_duplicates,
    point_id,
)
from connectors.knowledge_store.server import ServerStore

__all__ = [
    "Bm25Encoder", "EmbeddedStore", "Filters", "Hit", "KnowledgeStore", "ServerStore", "StoreError",
    "StoreLockedError", "StoredState", "collection_name", "drop_near_duplicates", "open_store", "point_id",
]
