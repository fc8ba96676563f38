"""The bottom layer: errors, settings, filters, periods, the schema (DATA.md and every table), limits.
Imports nothing else of ``insight``."""
