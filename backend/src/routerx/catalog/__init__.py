"""The model catalog shipped with the package: list prices, context windows and output limits.

`lookup(model)` answers from the bundled `models.json`; prices are exact decimals in USD per
million tokens. A figure the catalog does not know is `None`, never 0.
"""

from routerx.catalog.model_info import ModelInfo, Prices, PriceTier
from routerx.catalog.table import Catalog, bundled_catalog, lookup

__all__ = ["Catalog", "ModelInfo", "PriceTier", "Prices", "bundled_catalog", "lookup"]
