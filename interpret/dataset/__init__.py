"""Explain a whole dataset: every image of a folder, zip or listing into a resumable store of Parquet shards,
on this machine or on a Ray cluster (`interpret explain-set`, `explain_dataset`). No streamlit here."""
from .engine import ModelArgs, RunSummary, explain_dataset
from .listing import Item, Listing, open_listing
from .store import SCHEMA, SCHEMA_VERSION, Store, StoreError, map_of, maps_of, open_store
from .work import RunSettings

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Item", "Listing", "ModelArgs", "RunSettings", "RunSummary", "Store", "StoreError",
           "explain_dataset", "map_of", "maps_of", "open_listing", "open_store"]
