"""The web console at `/` (DESIGN.md §8): its pages, assets and GraphiQL, served by the gateway."""
