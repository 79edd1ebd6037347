"""Read side: list and detail queries with filters, paging and the caller's scope.

Reads go straight to the tables (no aggregates, no locks) and return plain dictionaries.
"""
