"""Use-case handlers: each opens a unit of work, applies the domain rules, audits and commits."""
