"""咨询场景: the taxonomy and classifier (``model``) and their tables in the store (``store``)."""
