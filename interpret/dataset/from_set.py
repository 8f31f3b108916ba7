"""A labelled set the app already holds (the Mistakes page's demo set, uploaded zip or folder) as a listing, so
the dataset engine explains it into a store like any other source."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..mistakes.imageset import ImageSet
from .listing import Item, Listing, Reader, image_id


@dataclass
class SetListing(Listing):
    """A listing whose images are read from an ImageSet's file tree (a folder, a zip or memory)."""

    image_set: ImageSet | None = field(default=None, repr=False)

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """Each image's bytes within the tree's own bounds (a zip opened once for the block's reads)."""
        assert self.image_set is not None
        with self.image_set.tree._raw_reader() as read:
            yield read


def listing_of(image_set: ImageSet) -> SetListing:
    """The set's images in its order, with their labels."""
    items = [Item(image_id(item.path), item.path, item.label) for item in image_set.items]
    skipped = {reason: len(names) for reason, names in image_set.skipped.items()}
    return SetListing(image_set.name, items, skipped=skipped, image_set=image_set)
