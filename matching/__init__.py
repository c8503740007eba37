"""The matching engine: scoring, recommendations, need-weighted allocation, secondary
impact and the standard SPO score."""

__all__ = [
    "allocate",  # need-weighted allocation of pledges (a linear program)
    "batch",  # recommendations for many sites at once, in memory
    "impact",  # the secondary-impact estimator
    "near",  # recommendations for a place (the one entry point)
    "need",  # need of the people an activity serves
    "profiles",  # weight profiles
    "queries",  # the matching domain's SQL
    "recommend",  # ranked, explained recommendations
    "score",  # score components with reasons
    "spo_score",  # the standard SPO score for tender evaluation
    "tables",  # this package's table (weight profiles)
    "valuation",  # money value of volunteer hours
    "valueset",  # value sets: unit costs and assumptions, read and written
]
