"""The demo scenario: a deterministic, realistic field-service company to seed and simulate."""
