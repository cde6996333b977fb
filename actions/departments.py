"""Words that name a part of a company, read by the role parser and the employer reader.

"VP Sales" and "Head of Sales" name a role in a department, and "Sales" in "I work in Sales"
is not the visitor's employer: both readers need the same list.
"""

from __future__ import annotations

import re
from typing import Final

DEPARTMENTS: Final = frozenset(
    [
        "account",
        "accounts",
        "admin",
        "administration",
        "analytics",
        "brand",
        "business",
        "communications",
        "community",
        "compliance",
        "content",
        "creative",
        "customer",
        "customers",
        "data",
        "design",
        "development",
        "digital",
        "e-commerce",
        "ecommerce",
        "engineering",
        "finance",
        "growth",
        "hr",
        "infrastructure",
        "it",
        "legal",
        "marketing",
        "operations",
        "ops",
        "partnerships",
        "people",
        "procurement",
        "product",
        "products",
        "purchasing",
        "qa",
        "quality",
        "research",
        "revenue",
        "sales",
        "security",
        "service",
        "services",
        "strategy",
        "success",
        "support",
        "talent",
        "tech",
        "technology",
        "training",
        "ux",
        "web",
    ]
)


def departments_pattern() -> str:
    """The department words as a regex alternation, longest first."""
    return "|".join(re.escape(word) for word in sorted(DEPARTMENTS, key=len, reverse=True))
