"""Resource kinds the loaders know about, kept free of heavy imports so that the Django models can
share them (karte.models builds its PUBLIC_KINDS from this set)."""

# Kinds that are public facilities (公共施設): loaders set ``is_public`` from this.
PUBLIC_KINDS = frozenset({
    "civic_hall", "library", "school", "nursery", "children_culture_centre", "elderly_welfare_centre",
    "ikoi_no_ie", "childcare_support_centre", "welfare_facility", "public_facility", "park",
})
