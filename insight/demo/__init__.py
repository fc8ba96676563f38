"""Demo data: a generator of DATA.md files, and which shops of a store are fictional."""

from .generator import DemoConfig, demo_refusal, is_demo_folder, mark_demo_shops, write_demo

__all__ = ["DemoConfig", "write_demo", "demo_refusal", "is_demo_folder", "mark_demo_shops"]
